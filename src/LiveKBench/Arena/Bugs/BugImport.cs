namespace LiveKBench.Arena.Bugs;

/// <summary>Reads the input of <c>kbench bugs import</c>: bundle folders, a JSON Lines export, or a <c>.list</c> file of bundle
/// folders.</summary>
public static class BugImport
{
    /// <summary>The file-name ending of a list of bundle folders (<c>data/linux-6.1/quickstart.list</c>).</summary>
    public const string ListExtension = ".list";

    /// <summary>Reads every bug document from <paramref name="path"/> (nothing is stored yet): a bundle folder (holding
    /// <c>bug.json</c>), a folder of bundle folders, a JSON Lines export, or a text file ending in <c>.list</c> that names bundle
    /// folders one per line, relative to the file (blank lines and lines starting with <c>#</c> are ignored).</summary>
    /// <exception cref="BugImportException">The input is malformed (for a list: a line that names no bundle folder or names
    /// one twice, or no bundle at all); the message names the file and line.</exception>
    public static List<BugDocument> ReadInput(string path, DateTime addedTime)
    {
        if (File.Exists(path) && path.EndsWith(ListExtension, StringComparison.Ordinal))
        {
            return ReadList(path, addedTime);
        }
        if (File.Exists(path))
        {
            return BugRepository.ParseJsonLines(path);
        }
        if (!Directory.Exists(path))
        {
            throw new BugImportException($"{path}: no such file or folder");
        }
        var docs = new List<BugDocument>();
        foreach (var folder in BugBundleReader.FindBundles(path))
        {
            var doc = BugBundleReader.Read(folder, addedTime);
            if (doc.Validate() is { } why)
            {
                throw new BugImportException($"{Path.Combine(folder, "bug.json")}: {why}");
            }
            docs.Add(doc);
        }
        return docs;
    }

    private static List<BugDocument> ReadList(string listPath, DateTime addedTime)
    {
        var baseDir = Path.GetDirectoryName(Path.GetFullPath(listPath))!;
        var docs = new List<BugDocument>();
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        var lineNo = 0;
        foreach (var raw in File.ReadLines(listPath))
        {
            lineNo++;
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }
            var folder = Path.GetFullPath(Path.Combine(baseDir, line));
            if (!File.Exists(Path.Combine(folder, "bug.json")))
            {
                throw new BugImportException($"{listPath}:{lineNo}: {line} is not a bug bundle folder (no bug.json)");
            }
            if (seen.TryGetValue(folder, out var first))
            {
                throw new BugImportException($"{listPath}:{lineNo}: {line} is named twice (first on line {first})");
            }
            seen[folder] = lineNo;
            docs.AddRange(ReadInput(folder, addedTime));
        }
        if (docs.Count == 0)
        {
            throw new BugImportException($"{listPath}: names no bug bundle folder");
        }
        return docs;
    }
}
