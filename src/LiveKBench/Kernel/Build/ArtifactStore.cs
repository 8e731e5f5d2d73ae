using System.Security.Cryptography;

namespace LiveKBench.Kernel.Build;

/// <summary>
/// A folder of files addressed by the SHA-256 of their content: <c>&lt;root&gt;/sha256/&lt;first 2 hex&gt;/&lt;64 hex&gt;</c>.
/// Storing the same content twice keeps one copy. Writes go to a temporary file and are renamed into place,
/// so readers never see half a file.
/// </summary>
/// <param name="root">Store folder (created on demand).</param>
public sealed class ArtifactStore(string root)
{
    /// <summary>The store folder (absolute).</summary>
    public string Root { get; } = Path.GetFullPath(root);

    /// <summary>Copies <paramref name="sourceFile"/> into the store.</summary>
    /// <param name="sourceFile">File to store.</param>
    /// <param name="cancellationToken">Cancels hashing/copying.</param>
    /// <returns>Its hash, stored path and size in bytes.</returns>
    /// <exception cref="FileNotFoundException">The source file does not exist.</exception>
    /// <exception cref="IOException">Disk errors.</exception>
    public async Task<ArtifactRef> PutFileAsync(string sourceFile, CancellationToken cancellationToken = default)
    {
        string hash;
        await using (var s = File.OpenRead(sourceFile))
        {
            hash = Convert.ToHexStringLower(await SHA256.HashDataAsync(s, cancellationToken).ConfigureAwait(false));
        }
        var dest = PathOf(hash);
        if (!File.Exists(dest))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
            var tmp = $"{dest}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
            File.Copy(sourceFile, tmp, overwrite: true);
            File.Move(tmp, dest, overwrite: true);
        }
        return new ArtifactRef(hash, dest, new FileInfo(dest).Length);
    }

    /// <summary>Path where content with this hash is (or would be) stored.</summary>
    /// <param name="sha256">64 lower-case hex characters.</param>
    /// <returns>Absolute path.</returns>
    public string PathOf(string sha256) => Path.Combine(Root, "sha256", sha256[..2], sha256);
}
