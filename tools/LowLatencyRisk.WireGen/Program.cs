using LowLatencyRisk.WireGen;

// dotnet run --project tools/LowLatencyRisk.WireGen [-- --check] [repository root]
// Rewrites the files rendered from the message structs, or with --check only reports which differ
// (exit 1). The suite runs the same comparison (WireGenTests), so a stale file fails CI.
bool check = args.Contains("--check");
string root = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal)) ?? FindRoot(AppContext.BaseDirectory) ?? Directory.GetCurrentDirectory();

var problems = WireRenderer.Structs.SelectMany(WireRenderer.LayoutProblems).ToList();
if (problems.Count > 0)
{
    Console.Error.WriteLine("wire structs with layout problems:\n  " + string.Join("\n  ", problems));
    return 2;
}

var staleOutputs = WireRenderer.StaleOutputs(root);
foreach (string output in staleOutputs)
{
    if (check)
    {
        Console.Error.WriteLine($"stale: {output} (run: dotnet run --project tools/LowLatencyRisk.WireGen)");
    }
    else
    {
        File.WriteAllText(Path.Combine(root, output), WireRenderer.Render(output, root));
        Console.WriteLine($"wrote {output}");
    }
}

int stale = staleOutputs.Count;
if (stale == 0)
{
    Console.WriteLine("up to date: " + string.Join(", ", WireRenderer.Outputs));
}

return check && stale > 0 ? 1 : 0;

static string? FindRoot(string from)
{
    for (var dir = new DirectoryInfo(from); dir is not null; dir = dir.Parent)
    {
        if (File.Exists(Path.Combine(dir.FullName, "LowLatencyRisk.sln")))
        {
            return dir.FullName;
        }
    }

    return null;
}
