using Vigil.Data;

namespace Vigil.Monitoring;

/// <summary>A drift comparison that cannot run as asked: an unknown column or statistic, a statistic that does not
/// apply to the column's type, or data it cannot use. The message is one readable line.</summary>
public sealed class DriftException : VigilException
{
    /// <summary>Creates the exception.</summary>
    public DriftException(string message)
        : base(message)
    {
    }
}
