using Vigil.Data;

namespace Vigil.Fx;

/// <summary>
/// Deals to and from Vigil's columnar <see cref="Frame"/> (so the CSV and Parquet readers and writers of Vigil.Data carry
/// them): one column per contract field, dates as <c>YYYY-MM-DD</c> text, plus the derived <c>FaceValue</c> and
/// <c>TDays</c> features for the model.
/// </summary>
public static class FxDealFrame
{
    /// <summary>
    /// How to read deals from CSV: every deal field as text, so that one deal's bad date or amount fails only that deal
    /// (its validation names the field) instead of the whole file's column type.
    /// </summary>
    public static CsvReadOptions CsvOptions { get; } = new()
    {
        Schema = new FrameSchema(FxFields.Deal.Where(n => n != FxFields.ContLeg).Select(n => new ColumnSchema(n, ColumnKind.String))),
    };

    /// <summary>
    /// The raw deals of <paramref name="frame"/>, one per row, without validating them: an absent optional column gives
    /// null; a missing value gives null (the validator names it). Text columns may be strings or categories; a date
    /// column read as a timestamp (CSV type inference) is turned back into <c>YYYY-MM-DD</c> text.
    /// </summary>
    /// <exception cref="FxDataException">A required column is absent (the message names it).</exception>
    public static FxRawDeal[] ReadRaw(Frame frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        foreach (var name in FxFields.Deal)
        {
            if (name != FxFields.ContLeg && !frame.Contains(name))
            {
                throw new FxDataException($"the deals have no '{name}' column (a deal needs: {string.Join(", ", FxFields.Deal)})");
            }
        }

        var client = frame[FxFields.Client];
        var instrument = frame[FxFields.InstrumentType];
        var bunit = frame[FxFields.BUnit];
        var cpty = frame[FxFields.Cpty];
        var primary = frame[FxFields.PrimaryCurr];
        var buy = frame[FxFields.BuyCurr];
        var sell = frame[FxFields.SellCurr];
        var buyAmount = frame[FxFields.BuyAmount];
        var sellAmount = frame[FxFields.SellAmount];
        var spot = frame[FxFields.SpotRate];
        var points = frame[FxFields.ForwardPoints];
        var dealDate = frame[FxFields.DealDate];
        var maturity = frame[FxFields.MaturityDate];
        var id = frame[FxFields.UniqueId];
        frame.TryGetColumn(FxFields.ContLeg, out var contLeg);
        var deals = new FxRawDeal[frame.RowCount];
        for (var r = 0; r < deals.Length; r++)
        {
            deals[r] = new FxRawDeal
            {
                Client = Text(client, r),
                FxInstrumentType = Text(instrument, r),
                BUnit = Text(bunit, r),
                Cpty = Text(cpty, r),
                PrimaryCurr = Text(primary, r),
                BuyCurr = Text(buy, r),
                SellCurr = Text(sell, r),
                BuyAmount = Number(buyAmount, r),
                SellAmount = Number(sellAmount, r),
                SpotRate = Number(spot, r),
                ForwardPoints = Number(points, r),
                DealDate = DateText(dealDate, r),
                MaturityDate = DateText(maturity, r),
                UniqueId = Text(id, r),
                ContLeg = contLeg is null ? null : Number(contLeg, r),
            };
        }

        return deals;
    }

    /// <summary>
    /// Validates every row of <paramref name="frame"/>: the valid deals (null where invalid) and, per invalid row, the
    /// error naming the field.
    /// </summary>
    public static (FxDeal?[] Deals, string?[] Errors) Read(Frame frame)
    {
        var raw = ReadRaw(frame);
        var deals = new FxDeal?[raw.Length];
        var errors = new string?[raw.Length];
        for (var i = 0; i < raw.Length; i++)
        {
            if (FxDealValidator.TryValidate(raw[i], out var deal, out var error))
            {
                deals[i] = deal;
            }
            else
            {
                errors[i] = error;
            }
        }

        return (deals, errors);
    }

    /// <summary>The frame of <paramref name="deals"/>: every contract field (ContLeg NaN when absent), categorical text columns.</summary>
    public static Frame ToFrame(IReadOnlyList<FxDeal> deals)
    {
        ArgumentNullException.ThrowIfNull(deals);
        var n = deals.Count;
        string?[] Strings(Func<FxDeal, string> get)
        {
            var values = new string?[n];
            for (var i = 0; i < n; i++)
            {
                values[i] = get(deals[i]);
            }

            return values;
        }

        double[] Doubles(Func<FxDeal, double> get)
        {
            var values = new double[n];
            for (var i = 0; i < n; i++)
            {
                values[i] = get(deals[i]);
            }

            return values;
        }

        return new Frame(
        [
            CategoricalColumn.FromValues(FxFields.Client, Strings(d => d.Client)),
            CategoricalColumn.FromValues(FxFields.InstrumentType, Strings(d => d.FxInstrumentType)),
            CategoricalColumn.FromValues(FxFields.BUnit, Strings(d => d.BUnit)),
            CategoricalColumn.FromValues(FxFields.Cpty, Strings(d => d.Cpty)),
            CategoricalColumn.FromValues(FxFields.PrimaryCurr, Strings(d => d.PrimaryCurr)),
            CategoricalColumn.FromValues(FxFields.BuyCurr, Strings(d => d.BuyCurr)),
            CategoricalColumn.FromValues(FxFields.SellCurr, Strings(d => d.SellCurr)),
            new Float64Column(FxFields.BuyAmount, Doubles(d => d.BuyAmount)),
            new Float64Column(FxFields.SellAmount, Doubles(d => d.SellAmount)),
            new Float64Column(FxFields.SpotRate, Doubles(d => d.SpotRate)),
            new Float64Column(FxFields.ForwardPoints, Doubles(d => d.ForwardPoints)),
            new StringColumn(FxFields.DealDate, Strings(d => FxDealValidator.FormatDate(d.DealDate))),
            new StringColumn(FxFields.MaturityDate, Strings(d => FxDealValidator.FormatDate(d.MaturityDate))),
            new StringColumn(FxFields.UniqueId, Strings(d => d.UniqueId)),
            new Float64Column(FxFields.ContLeg, Doubles(d => d.ContLeg is { } leg ? leg : double.NaN)),
        ]);
    }

    /// <summary>The model's input frame: the categorical fields and the derived FaceValue and TDays, one row per deal.</summary>
    public static Frame Features(IReadOnlyList<FxDeal> deals)
    {
        ArgumentNullException.ThrowIfNull(deals);
        var n = deals.Count;
        var face = new double[n];
        var tdays = new double[n];
        var cats = new string?[FxFields.Categoricals.Count][];
        for (var c = 0; c < cats.Length; c++)
        {
            cats[c] = new string?[n];
        }

        for (var i = 0; i < n; i++)
        {
            var d = deals[i];
            face[i] = d.FaceValue;
            tdays[i] = d.TDays;
            for (var c = 0; c < cats.Length; c++)
            {
                cats[c][i] = d.Category(c);
            }
        }

        var columns = new List<Column>();
        for (var c = 0; c < cats.Length; c++)
        {
            columns.Add(CategoricalColumn.FromValues(FxFields.Categoricals[c], cats[c]));
        }

        columns.Add(new Float64Column(FxFields.FaceValue, face));
        columns.Add(new Float64Column(FxFields.TDays, tdays));
        return new Frame(columns);
    }

    private static string? Text(Column column, int row) => column.IsMissing(row) ? null : column.FormatValue(row);

    private static double? Number(Column column, int row) =>
        column.Kind is ColumnKind.Float64 or ColumnKind.Float32 ? (column.IsMissing(row) ? null : column.GetDouble(row))
        : column.IsMissing(row) ? null
        : double.TryParse(column.FormatValue(row), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : double.NaN;

    private static string? DateText(Column column, int row)
    {
        if (column.IsMissing(row))
        {
            return null;
        }

        if (column is TimestampColumn ts)
        {
            var t = ts[row];
            return t.TimeOfDay == TimeSpan.Zero ? FxDealValidator.FormatDate(DateOnly.FromDateTime(t.UtcDateTime)) : column.FormatValue(row);
        }

        return column.FormatValue(row);
    }
}

/// <summary>FX data that cannot be used (a missing column, a client without deals); the message is one line for the user.</summary>
public sealed class FxDataException : VigilException
{
    /// <summary>Creates the exception.</summary>
    public FxDataException(string message)
        : base(message)
    {
    }
}
