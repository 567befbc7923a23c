namespace LowLatencyRisk.Operations;

/// <summary>The static page of <c>llr serve</c> and its example portfolio, embedded in the assembly.</summary>
internal static class Page
{
    public static readonly string Html = Load("page/index.html");

    public static readonly string Example = Load("page/example.json");

    private static string Load(string name)
    {
        using var stream = typeof(Page).Assembly.GetManifestResourceStream(name) ?? throw new InvalidOperationException($"{name} is not embedded in {typeof(Page).Assembly.GetName().Name}.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
