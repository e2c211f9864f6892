using Microsoft.Data.Sqlite;
using Npgsql;

namespace Vigil.Tracking.Tests;

/// <summary>
/// What the server's log writer relies on from the stores: a sanitized row is storable and keeps its <c>altered</c>
/// flag, the raw row fails with an error classified as permanent, and a log id already stored is ignored (replay).
/// </summary>
public abstract class InferenceLogReliabilityTests : IDisposable
{
    private readonly TempDir _home = new();

    protected string Home => _home.Path;

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    protected abstract Task<string> StoreSpecAsync();

    /// <summary>True when the backend refuses a NUL in text (PostgreSQL); SQLite stores it.</summary>
    protected abstract bool RefusesNul { get; }

    public void Dispose()
    {
        _home.Dispose();
        GC.SuppressFinalize(this);
    }

    private static InferenceRecord WithNul(int i) => new()
    {
        LogId = "nul" + i.ToString(System.Globalization.CultureInfo.InvariantCulture),
        RequestId = "req-nul",
        StartUs = 1_000 + i,
        EndUs = 2_000 + i,
        Route = "v1/predict",
        Model = "a\0b",
        Status = 404,
        RequestPayloadUtf8 = [(byte)'{', 0, 0xC3, (byte)'}'],
        Error = "unknown model 'a\0b\uDC00'",
    };

    [Fact]
    public async Task A_sanitized_row_is_stored_with_its_altered_flag_and_the_raw_row_fails_permanently_where_text_cannot_hold_a_NUL()
    {
        await using var log = await InferenceLogStore.OpenAsync(await StoreSpecAsync(), Home, Ct);
        if (RefusesNul)
        {
            // Npgsql refuses the lone surrogate while encoding (EncoderFallbackException), the server the NUL (22021)
            Exception? error = null;
            try
            {
                await log.WriteAsync([WithNul(1), InferenceLogContractTests.Record(1)], Ct);
            }
            catch (Exception e)
            {
                error = e;
            }

            InferenceLogFailure.Classify(error.ShouldNotBeNull()).ShouldBe(InferenceLogFailureKind.Permanent, error.ToString());
            var nulOnly = WithNul(3) is var r ? new InferenceRecord { LogId = r.LogId, RequestId = r.RequestId, Route = r.Route, Model = r.Model } : null;
            var nulError = await Should.ThrowAsync<TrackingException>(() => log.WriteAsync([nulOnly!], Ct));
            nulError.Message.ShouldContain("22021");
            InferenceLogFailure.Classify(nulError).ShouldBe(InferenceLogFailureKind.Permanent);
            (await log.CountAsync(cancellationToken: Ct)).ShouldBe(0);
        }

        var clean = InferenceRecordSanitizer.Sanitize(WithNul(2));
        clean.Altered.ShouldBeTrue();
        await log.WriteAsync([clean, InferenceLogContractTests.Record(2)], Ct);
        var rows = await log.TailAsync(10, cancellationToken: Ct);
        rows.Count.ShouldBe(2);
        var back = rows.Single(r => r.LogId == "nul2");
        back.Altered.ShouldBeTrue();
        back.Model.ShouldBe("a\uFFFDb");
        back.Error.ShouldBe("unknown model 'a\uFFFDb\uFFFD'");
        back.RequestPayload.ShouldBe("{\uFFFD\uFFFD}");
        rows.Single(r => r.LogId != "nul2").Altered.ShouldBeFalse();
    }

    [Fact]
    public async Task A_replayed_batch_adds_only_the_rows_not_yet_stored()
    {
        await using var log = await InferenceLogStore.OpenAsync(await StoreSpecAsync(), Home, Ct);
        await log.WriteAsync([InferenceLogContractTests.Record(1), InferenceLogContractTests.Record(2)], Ct);
        await log.WriteAsync([InferenceLogContractTests.Record(1), InferenceLogContractTests.Record(2), InferenceLogContractTests.Record(3)], Ct);
        (await log.CountAsync(cancellationToken: Ct)).ShouldBe(3);
    }
}

/// <summary>On a SQLite file.</summary>
public sealed class SqliteInferenceLogReliabilityTests : InferenceLogReliabilityTests
{
    protected override Task<string> StoreSpecAsync() => Task.FromResult("sqlite:" + Path.Combine(Home, "vigil.db"));

    protected override bool RefusesNul => false;
}

/// <summary>On a real PostgreSQL server.</summary>
public sealed class PostgresInferenceLogReliabilityTests(PostgresDatabase database) : InferenceLogReliabilityTests, IClassFixture<PostgresDatabase>
{
    private string? _spec;

    protected override async Task<string> StoreSpecAsync() => _spec ??= await database.NewSchemaAsync(Ct);

    protected override bool RefusesNul => true;
}

/// <summary>How write failures are classified: by SQLSTATE class, SQLite result code and exception type.</summary>
public sealed class InferenceLogFailureTests
{
    [Theory]
    [InlineData("22021", InferenceLogFailureKind.Permanent)] // character not in repertoire (a NUL)
    [InlineData("22001", InferenceLogFailureKind.Permanent)] // string data right truncation
    [InlineData("23505", InferenceLogFailureKind.Permanent)] // unique violation
    [InlineData("08006", InferenceLogFailureKind.Transient)] // connection failure
    [InlineData("53100", InferenceLogFailureKind.Transient)] // disk full
    [InlineData("57P01", InferenceLogFailureKind.Transient)] // admin shutdown
    [InlineData("57P03", InferenceLogFailureKind.Transient)] // cannot connect now (starting up)
    [InlineData("40001", InferenceLogFailureKind.Transient)] // serialization failure
    [InlineData("P0001", InferenceLogFailureKind.Unknown)] // raise exception
    public void PostgreSQL_errors_are_classified_by_SQLSTATE(string sqlState, InferenceLogFailureKind kind)
    {
        var error = new TrackingException("cannot write", new PostgresException("m", "ERROR", "ERROR", sqlState));
        InferenceLogFailure.Classify(error).ShouldBe(kind);
    }

    [Theory]
    [InlineData(13, InferenceLogFailureKind.Transient)] // SQLITE_FULL
    [InlineData(10 | (4 << 8), InferenceLogFailureKind.Transient)] // SQLITE_IOERR_SHORT_READ (an extended code)
    [InlineData(5, InferenceLogFailureKind.Transient)] // SQLITE_BUSY
    [InlineData(19, InferenceLogFailureKind.Permanent)] // SQLITE_CONSTRAINT
    [InlineData(18, InferenceLogFailureKind.Permanent)] // SQLITE_TOOBIG
    public void SQLite_errors_are_classified_by_primary_result_code(int code, InferenceLogFailureKind kind)
    {
        InferenceLogFailure.Classify(new TrackingException("cannot write", new SqliteException("m", code))).ShouldBe(kind);
    }

    [Fact]
    public void Connection_and_IO_errors_are_transient_and_encoding_errors_permanent()
    {
        InferenceLogFailure.Classify(new NpgsqlException("Failed to connect", new System.Net.Sockets.SocketException(111))).ShouldBe(InferenceLogFailureKind.Transient);
        InferenceLogFailure.Classify(new TrackingException("x", new IOException("No space left on device"))).ShouldBe(InferenceLogFailureKind.Transient);
        InferenceLogFailure.Classify(new UnauthorizedAccessException("read-only")).ShouldBe(InferenceLogFailureKind.Transient);
        InferenceLogFailure.Classify(new TimeoutException()).ShouldBe(InferenceLogFailureKind.Transient);
        InferenceLogFailure.Classify(new System.Text.EncoderFallbackException("lone surrogate")).ShouldBe(InferenceLogFailureKind.Permanent);
        InferenceLogFailure.Classify(new InvalidOperationException("?")).ShouldBe(InferenceLogFailureKind.Unknown);
    }
}
