using System.Net.Sockets;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Vigil.Tracking;

/// <summary>What kind of failure an inference log write met, which decides what the writer does next.</summary>
public enum InferenceLogFailureKind
{
    /// <summary>The destination is unavailable for now (store down, disk full, timeout, lock): retry the same rows later.</summary>
    Transient,

    /// <summary>Some row can never be stored as it is (bad bytes, a value too long, a constraint): isolate it, never retry it as is.</summary>
    Permanent,

    /// <summary>Not recognised: retried a few times as transient, then handled as permanent.</summary>
    Unknown,
}

/// <summary>
/// Classifies the exceptions of <see cref="IInferenceLogSink.WriteAsync"/> (looking through <see cref="TrackingException"/>
/// and other wrappers): PostgreSQL by SQLSTATE class (22 data exception, 23 integrity constraint, 42 syntax/undefined,
/// 54 program limit: permanent; 08 connection, 40 transaction rollback, 53 insufficient resources, 55 lock not
/// available, 57 operator intervention incl. 57P0x shutdown, 58 system error, XX internal: transient), SQLite by primary
/// result code (FULL, IOERR, BUSY, LOCKED, CANTOPEN, NOMEM, READONLY, PROTOCOL: transient; CONSTRAINT, TOOBIG, MISMATCH,
/// RANGE: permanent), socket errors, timeouts, I/O errors and access denied (a Parquet folder made unwritable) as
/// transient, and argument, format, cast and encoding errors (a value the client cannot even send) as permanent.
/// </summary>
public static class InferenceLogFailure
{
    /// <summary>Classifies <paramref name="exception"/>; see the type summary.</summary>
    public static InferenceLogFailureKind Classify(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case PostgresException pg:
                    return ClassifySqlState(pg.SqlState);
                case NpgsqlException npgsql when npgsql.InnerException is null or IOException or SocketException or TimeoutException:
                    return InferenceLogFailureKind.Transient; // the connection broke or could not be opened
                case SqliteException sqlite:
                    return ClassifySqlite(sqlite.SqliteErrorCode);
                case SocketException or TimeoutException:
                    return InferenceLogFailureKind.Transient;
                case OperationCanceledException:
                    return InferenceLogFailureKind.Transient; // a command timeout surfaces as a cancellation
                case UnauthorizedAccessException or IOException:
                    return InferenceLogFailureKind.Transient; // disk full, read-only folder, a folder replaced by a file
                case ArgumentException or FormatException or InvalidCastException or OverflowException or System.Text.DecoderFallbackException:
                    return InferenceLogFailureKind.Permanent;
                default:
                    break;
            }
        }

        return InferenceLogFailureKind.Unknown;
    }

    /// <summary>Classifies a PostgreSQL SQLSTATE by its class (its first two characters).</summary>
    public static InferenceLogFailureKind ClassifySqlState(string? sqlState) => sqlState is { Length: 5 }
        ? sqlState[..2] switch
        {
            "22" or "23" or "42" or "54" or "2B" or "44" => InferenceLogFailureKind.Permanent,
            "08" or "40" or "53" or "55" or "57" or "58" or "XX" or "25" => InferenceLogFailureKind.Transient,
            _ => InferenceLogFailureKind.Unknown,
        }
        : InferenceLogFailureKind.Unknown;

    /// <summary>Classifies a SQLite result code by its primary code (the low byte of an extended code).</summary>
    public static InferenceLogFailureKind ClassifySqlite(int resultCode) => (resultCode & 0xFF) switch
    {
        5 or 6 or 7 or 8 or 10 or 13 or 14 or 15 => InferenceLogFailureKind.Transient, // BUSY, LOCKED, NOMEM, READONLY, IOERR, FULL, CANTOPEN, PROTOCOL
        18 or 19 or 20 or 25 => InferenceLogFailureKind.Permanent, // TOOBIG, CONSTRAINT, MISMATCH, RANGE
        _ => InferenceLogFailureKind.Unknown,
    };
}
