using System.Data.Common;

namespace Vigil.Tracking;

/// <summary>What differs between the SQLite and PostgreSQL stores; the SQL shared by both is in <see cref="SqlTrackingStore"/>.</summary>
internal abstract class SqlDialect : IAsyncDisposable
{
    /// <summary>"sqlite" or "postgres".</summary>
    public abstract string Backend { get; }

    /// <summary>Where the store is, without secrets.</summary>
    public abstract string Location { get; }

    /// <summary>Migration scripts: element i upgrades the schema from version i to i+1.</summary>
    public abstract IReadOnlyList<string> Migrations { get; }

    /// <summary>Appended to a SELECT that must lock the selected row for the rest of the transaction.</summary>
    public abstract string ForUpdate { get; }

    /// <summary>An expression true when column <paramref name="column"/> contains the text parameter <paramref name="parameter"/>.</summary>
    public abstract string Contains(string column, string parameter);

    /// <summary>An expression true when <paramref name="column"/> is in the string array parameter <paramref name="parameter"/>.</summary>
    public abstract string InList(string column, string parameter);

    /// <summary>Opens a pooled connection configured for the store.</summary>
    public abstract ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken);

    /// <summary>Starts a transaction that holds the write lock (SQLite: BEGIN IMMEDIATE) or row locks (PostgreSQL).</summary>
    public abstract ValueTask<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken);

    /// <summary>Starts a read transaction that sees one snapshot.</summary>
    public abstract ValueTask<DbTransaction> BeginReadAsync(DbConnection connection, CancellationToken cancellationToken);

    /// <summary>Runs once before migrations, outside a transaction (SQLite: journal_mode=WAL).</summary>
    /// <summary>
    /// Announces a registry change of model <c>@name</c> inside the writing transaction (delivered on commit), or null
    /// when the backend has no notifications (SQLite: servers poll).
    /// </summary>
    public virtual string? NotifyRegistryChangeSql => null;

    public virtual Task PrepareAsync(DbConnection connection, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Prepares a connection for a long sequential read (SQLite: memory-mapped I/O, which avoids a read call per page).</summary>
    public virtual Task PrepareScanAsync(DbConnection connection, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Serialises concurrent migrators inside the migration transaction.</summary>
    public virtual Task LockMigrationsAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Whether the failed operation can be retried as a whole (lock timeout, serialization failure).</summary>
    public abstract bool IsTransient(Exception exception);

    /// <summary>Appends metric points to run_metrics inside the transaction (fastest bulk path of the backend).</summary>
    public abstract Task InsertMetricsAsync(DbConnection connection, DbTransaction transaction, string runId, IReadOnlyList<MetricPoint> points, CancellationToken cancellationToken);

    /// <summary>
    /// Appends inference log rows inside the transaction (fastest bulk path of the backend); a row whose log id is
    /// already stored is skipped, so retrying a batch that did commit adds nothing. With <paramref name="withItems"/>
    /// (schema 6 and later) each added row with <see cref="InferenceRecord.Items"/> and a model gets a row in table
    /// <c>inference_items</c> (the items encoded by <see cref="InferenceItemsCodec"/>) in the same transaction; without
    /// it (a store held at schema 5) that table does not exist.
    /// </summary>
    public abstract Task InsertInferenceAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<InferenceRecord> batch, bool withItems, CancellationToken cancellationToken);

    public abstract ValueTask DisposeAsync();
}
