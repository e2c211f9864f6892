using Quartz;

namespace Vigil.Pipelines;

/// <summary>
/// Builds the Quartz schedulers Vigil runs: Quartz's RAM store (no connection string), or a node of Quartz's clustered
/// ADO.NET job store in the tracking store's PostgreSQL database (tables <c>vigil_qrtz_*</c>, created on first use,
/// System.Text.Json serializer). Schedulers with different names share the tables but not their jobs: <c>vigil</c>
/// (schedules, <c>vigil scheduler</c>) and <c>vigil-workers</c> (distributed step jobs, <c>vigil worker</c>).
/// </summary>
internal static class QuartzCluster
{
    public static async Task<IScheduler> BuildAsync(
        string schedulerName, string instanceId, string? postgres, int threads, TimeSpan idleWaitTime, TimeSpan checkinInterval, CancellationToken cancellationToken,
        TimeSpan? misfireThreshold = null) =>
        await QuartzSchedulerBuilder.Create(q =>
        {
            q.ConfigureScheduler(o =>
            {
                o.InstanceName = schedulerName;
                o.InstanceId = instanceId;
                o.IdleWaitTime = idleWaitTime;
            });
            q.UseDefaultThreadPool(threads);
            if (postgres is null)
            {
                q.UseInMemoryStore(_ => { });
            }
            else
            {
                q.UsePersistentStore(s =>
                {
                    s.UsePostgres(postgres);
                    s.UseSystemTextJsonSerializer();
                    s.UseClustering(c =>
                    {
                        c.CheckinInterval = checkinInterval;
                        c.CheckinMisfireThreshold = checkinInterval;
                    });
                    s.ConfigureStore(o =>
                    {
                        o.TablePrefix = FlowScheduler.TablePrefix;
                        if (misfireThreshold is { } threshold)
                        {
                            // Quartz's recovery trigger of a job whose node died keeps the job's original fire time; past the
                            // threshold it waits for the misfire handler, which then runs this often.
                            o.MisfireThreshold = threshold;
                            o.MisfireHandlerFrequency = TimeSpan.FromSeconds(1);
                        }
                    });
                    s.ProvisionSchema();
                });
            }
        }).BuildScheduler(cancellationToken).ConfigureAwait(false);
}
