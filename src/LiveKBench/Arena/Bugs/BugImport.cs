namespace LiveKBench.Arena.Bugs;

/// <summary>Reads the input of <c>kbench bugs import</c>: bundle folders or a JSON Lines export.</summary>
public static class BugImport
{
    /// <summary>Reads every bug document from <paramref name="path"/> (nothing is stored yet).</summary>
    /// <exception cref="BugImportException">The input is malformed; the message names the file and line.</exception>
    public static List<BugDocument> ReadInput(string path, DateTime addedTime)
    {
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
}
