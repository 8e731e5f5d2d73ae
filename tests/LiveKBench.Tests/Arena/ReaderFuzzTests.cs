using System.Text;
using LiveKBench.Arena.Bugs;
using LiveKBench.Evaluation.Localization;
using LiveKBench.Kernel.Build;
using LiveKBench.Tests.Support;

namespace LiveKBench.Tests.Arena;

/// <summary>
/// Issue 16: seeded random mutations of the real cases in ../shared/data fed to the bundle reader, the JSON Lines reader and
/// the diff parser (and the patch sanitizer). The only outcomes allowed are success or the reader's own clear error naming
/// the input (<see cref="BugImportException"/> with the file, <see cref="DiffFormatException"/> / a rejected patch with a
/// reason); any other exception fails the test with the seed and the mutated input.
/// </summary>
public sealed class ReaderFuzzTests(ITestOutputHelper output) : IDisposable
{
    private const int Seed = 16;
    private const int BundleInputs = 1200;
    private const int JsonLineInputs = 1200;
    private const int DiffInputs = 2400;

    private readonly TempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    private static readonly string[] Tokens =
    [
        "null", "[]", "{}", "\"\"", "123", "-1", "1e999", "true", "[null]", "{\"c\":123}", "\"../../etc/passwd\"", "\"/dev/zero\"",
        "\"\\u0000\"", ",", ":", "\"", "\\", "\xff", "\n", "@@ -99999999999999999999,1 +1,1 @@", "--- a/", "+++ b/", "diff --git a/x b/../x",
        "rename to ../../tmp/x.c", "@@ -0,0 +0,0 @@", "\\ No newline at end of file", "Binary files a/x and b/x differ",
    ];

    /// <summary>One random mutation: flip, delete, insert a byte or a token, duplicate or cut a range, truncate.</summary>
    private static byte[] Mutate(Random rnd, byte[] input)
    {
        var b = new List<byte>(input);
        var rounds = 1 + rnd.Next(4);
        for (var r = 0; r < rounds; r++)
        {
            var at = b.Count == 0 ? 0 : rnd.Next(b.Count);
            switch (rnd.Next(7))
            {
                case 0 when b.Count > 0:
                    b[at] ^= (byte)(1 << rnd.Next(8));
                    break;
                case 1 when b.Count > 0:
                    b.RemoveRange(at, Math.Min(b.Count - at, 1 + rnd.Next(16)));
                    break;
                case 2:
                    b.Insert(at, (byte)rnd.Next(256));
                    break;
                case 3:
                    b.InsertRange(at, Encoding.UTF8.GetBytes(Tokens[rnd.Next(Tokens.Length)]));
                    break;
                case 4 when b.Count > 0:
                    var len = Math.Min(b.Count - at, 1 + rnd.Next(200));
                    b.InsertRange(rnd.Next(b.Count), b.GetRange(at, len));
                    break;
                case 5 when b.Count > 0:
                    b.RemoveRange(at, b.Count - at);
                    break;
                default:
                    // Replace a JSON value / number in place: digits become a huge number.
                    var digit = b.FindIndex(at, x => x is >= (byte)'0' and <= (byte)'9');
                    if (digit >= 0)
                    {
                        b.InsertRange(digit, Encoding.ASCII.GetBytes("99999999999999999999"));
                    }
                    break;
            }
        }
        return [.. b];
    }

    private static void Fail(string what, int seed, int i, Exception ex, byte[] input)
        => Assert.Fail($"{what} input #{i} (seed {seed}) threw {ex.GetType().Name}: {ex.Message}\n{ex.StackTrace}\ninput (base64): {Convert.ToBase64String(input)}");

    private static List<string> Bundles() => [.. Directory.GetDirectories(SharedData.Path("realbugs")).Where(d => File.Exists(Path.Combine(d, "bug.json"))).Order(StringComparer.Ordinal)];

    [Fact]
    public void Mutated_bundles_are_read_or_refused_with_the_file_named()
    {
        var rnd = new Random(Seed);
        var bundles = Bundles();
        Assert.NotEmpty(bundles);
        var copies = bundles.Select(b =>
        {
            var dst = _tmp[Path.GetFileName(b)];
            Directory.CreateDirectory(dst);
            foreach (var f in Directory.GetFiles(b))
            {
                File.Copy(f, Path.Combine(dst, Path.GetFileName(f)));
            }
            return (Src: b, Dst: dst);
        }).ToList();
        int ok = 0, refused = 0;
        for (var i = 0; i < BundleInputs; i++)
        {
            var (src, dst) = copies[i % copies.Count];
            // Mostly bug.json; sometimes one of the files it names (reproducer, config, patch).
            var files = Directory.GetFiles(src).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
            var name = rnd.Next(4) == 0 ? files[rnd.Next(files.Count)]! : "bug.json";
            foreach (var f in files)
            {
                File.Copy(Path.Combine(src, f!), Path.Combine(dst, f!), overwrite: true);
            }
            var input = Mutate(rnd, File.ReadAllBytes(Path.Combine(src, name)));
            File.WriteAllBytes(Path.Combine(dst, name), input);
            try
            {
                var doc = BugBundleReader.Read(dst, new DateTime(2026, 12, 5, 0, 0, 0, DateTimeKind.Utc));
                _ = doc.Validate();
                ok++;
            }
            catch (BugImportException ex)
            {
                Assert.Contains(dst, ex.Message);
                refused++;
            }
            catch (Exception ex) when (ex is not Xunit.Sdk.XunitException)
            {
                Fail($"bundle {name}", Seed, i, ex, input);
            }
        }
        output.WriteLine($"bundles: {BundleInputs} inputs, {ok} read, {refused} refused");
        Assert.True(refused > 0);
    }

    [Fact]
    public void Mutated_json_lines_are_read_or_refused_with_the_line_named()
    {
        var rnd = new Random(Seed + 1);
        var lines = BugImport.ReadInput(SharedData.Path("realbugs"), new DateTime(2026, 12, 5, 0, 0, 0, DateTimeKind.Utc))
            .Select(d => Encoding.UTF8.GetBytes(d.ToJsonLine())).ToList();
        Assert.NotEmpty(lines);
        var file = _tmp["bugs.jsonl"];
        int ok = 0, refused = 0;
        for (var i = 0; i < JsonLineInputs; i++)
        {
            var input = Mutate(rnd, lines[i % lines.Count]);
            // The mutated line sits second, after an intact one, so the error must name line 2.
            File.WriteAllBytes(file, [.. lines[0], (byte)'\n', .. input, (byte)'\n']);
            try
            {
                BugRepository.ParseJsonLines(file);
                ok++;
            }
            catch (BugImportException ex)
            {
                Assert.Contains(file, ex.Message);
                refused++;
            }
            catch (Exception ex) when (ex is not Xunit.Sdk.XunitException)
            {
                Fail("JSON line", Seed + 1, i, ex, input);
            }
        }
        output.WriteLine($"JSON lines: {JsonLineInputs} inputs, {ok} read, {refused} refused");
        Assert.True(refused > 0);
    }

    [Fact]
    public void Mutated_patches_are_parsed_or_refused_with_a_reason()
    {
        var rnd = new Random(Seed + 2);
        var patches = Bundles().Select(b => Path.Combine(b, "fix.patch")).Where(File.Exists).Select(File.ReadAllBytes).ToList();
        Assert.NotEmpty(patches);
        int ok = 0, refused = 0;
        for (var i = 0; i < DiffInputs; i++)
        {
            var input = Mutate(rnd, patches[i % patches.Count]);
            var text = Encoding.UTF8.GetString(input);
            try
            {
                try
                {
                    UnifiedDiff.Parse(text);
                    ok++;
                }
                catch (DiffFormatException ex)
                {
                    Assert.False(string.IsNullOrWhiteSpace(ex.Message));
                    refused++;
                }
                var check = PatchSanitizer.Sanitize(text);
                Assert.True(check.Ok || !string.IsNullOrWhiteSpace(check.Reason));
            }
            catch (Exception ex) when (ex is not Xunit.Sdk.XunitException)
            {
                Fail("patch", Seed + 2, i, ex, input);
            }
        }
        output.WriteLine($"patches: {DiffInputs} inputs, {ok} parsed, {refused} refused");
        Assert.True(refused > 0);
    }
}
