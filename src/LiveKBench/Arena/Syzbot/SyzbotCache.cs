using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace LiveKBench.Arena.Syzbot;

/// <summary>
/// On-disk cache of the syzbot client under one folder (the workspace's <c>cache/syzbot</c>):
/// <list type="bullet">
/// <item><c>bug/&lt;sha256(url)&gt;.json</c>: detail bodies with the time they were fetched (expiry decided by the caller);</item>
/// <item><c>text/&lt;sha256(body)&gt;.txt</c>: text bodies by content hash (shared by every link with the same text);</item>
/// <item><c>text-link/&lt;sha256(url)&gt;</c>: link → content hash.</item>
/// </list>
/// List pages are never cached. Writes are atomic (temp file + rename), so concurrent crawls at worst fetch twice.
/// </summary>
public sealed class SyzbotCache
{
    private readonly string _root;

    /// <summary>Uses (and creates when needed) <paramref name="root"/>.</summary>
    public SyzbotCache(string root)
    {
        _root = Path.GetFullPath(root);
    }

    /// <summary>The cache folder.</summary>
    public string Root => _root;

    /// <summary>A cached detail body and when it was fetched (UTC); null when not cached or unreadable.</summary>
    public CachedBody? GetDetail(string url)
    {
        var path = Path.Combine(_root, "bug", Key(url) + ".json");
        try
        {
            if (!File.Exists(path))
            {
                return null;
            }
            var env = JsonSerializer.Deserialize<CachedBody>(File.ReadAllText(path));
            return env is null || env.Url != url ? null : env;
        }
        catch (Exception ex) when (ex is IOException or JsonException or UnauthorizedAccessException)
        {
            return null; // a damaged entry is a miss
        }
    }

    /// <summary>Stores a detail body fetched at <paramref name="fetchedUtc"/>.</summary>
    public void PutDetail(string url, string body, DateTime fetchedUtc)
        => WriteAtomic(Path.Combine(_root, "bug", Key(url) + ".json"), JsonSerializer.Serialize(new CachedBody(url, body, fetchedUtc)));

    /// <summary>Removes a cached detail body (no error when absent).</summary>
    public void RemoveDetail(string url)
    {
        var path = Path.Combine(_root, "bug", Key(url) + ".json");
        if (File.Exists(path))
        {
            File.Delete(path);
        }
    }

    /// <summary>The text cached for <paramref name="url"/>, or null.</summary>
    public string? GetText(string url)
    {
        try
        {
            var link = Path.Combine(_root, "text-link", Key(url));
            if (!File.Exists(link))
            {
                return null;
            }
            var hash = File.ReadAllText(link).Trim();
            var body = Path.Combine(_root, "text", hash + ".txt");
            if (!File.Exists(body))
            {
                return null;
            }
            var text = File.ReadAllText(body, Encoding.UTF8);
            return Sha256Hex(text) == hash ? text : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Stores a text body under its content hash and maps <paramref name="url"/> to it; returns the hash.</summary>
    public string PutText(string url, string text)
    {
        var hash = Sha256Hex(text);
        var body = Path.Combine(_root, "text", hash + ".txt");
        if (!File.Exists(body))
        {
            WriteAtomic(body, text);
        }
        WriteAtomic(Path.Combine(_root, "text-link", Key(url)), hash);
        return hash;
    }

    /// <summary>Lower-case hex SHA-256 of the UTF-8 bytes of <paramref name="text"/>.</summary>
    public static string Sha256Hex(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    private static string Key(string url) => Sha256Hex(url);

    private static void WriteAtomic(string path, string content)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var tmp = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        File.WriteAllText(tmp, content, new UTF8Encoding(false));
        File.Move(tmp, path, overwrite: true);
    }
}

/// <summary>A cached response body.</summary>
/// <param name="Url">Absolute URL it was fetched from.</param>
/// <param name="Body">The body text.</param>
/// <param name="FetchedUtc">When it was fetched (UTC, by the client's clock).</param>
public sealed record CachedBody(string Url, string Body, DateTime FetchedUtc);
