using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using LiveKBench.Arena.Store;
using LiveKBench.Evaluation.Localization;

namespace LiveKBench.Evaluation.Judge;

/// <summary>A parsed judge reply.</summary>
/// <param name="Outcome">Yes (equivalent), No (discrepant) or Error.</param>
/// <param name="Error">Why the reply is unusable, for Error.</param>
public sealed record JudgeReply(VoteOutcome Outcome, string? Error);

/// <summary>
/// Prompt assembly and reply parsing of the LLM judge (karena.md §4.3): the template's <c>{devPatch}</c>,
/// <c>{devPatchMessage}</c>, <c>{agentPatch}</c> are replaced literally (no other brace handling, unlike kArena's
/// <c>str.format</c>), both patches are first reduced to their source-file parts, and fixed format instructions
/// are appended asking for <c>&lt;reasoning&gt;</c> then <c>&lt;evaluation&gt;</c> holding exactly one
/// <c>&lt;verdict&gt;equivalent|discrepant&lt;/verdict&gt;</c>.
/// </summary>
public static partial class JudgePrompt
{
    /// <summary>System message (kArena's).</summary>
    public const string SystemMessage = "You are a kernel expert.";

    /// <summary>Format instructions appended to every prompt (kArena's structure, our wording).</summary>
    public const string FormatInstructions = """


        Answer in exactly this format, with all content inside the XML tags:
        <reasoning>
        Extensive step-by-step reasoning: what the bug is, what the developer patch changes and why, what the student patch changes, and whether the two fix the same root cause in an equivalent way.
        </reasoning>
        <evaluation>
        <developerPatchAnalysis>What the developer patch does.</developerPatchAnalysis>
        <studentPatchAnalysis>What the student patch does and how it differs.</studentPatchAnalysis>
        <verdict>equivalent</verdict> or <verdict>discrepant</verdict> (exactly one verdict, lowercase)
        </evaluation>
        """;

    private static readonly Lazy<string> Default = new(() =>
    {
        using var s = Assembly.GetExecutingAssembly().GetManifestResourceStream("LiveKBench.DefaultJudgePrompt.txt")
            ?? throw new InvalidOperationException("embedded resource LiveKBench.DefaultJudgePrompt.txt is missing");
        using var r = new StreamReader(s, Encoding.UTF8);
        return r.ReadToEnd();
    });

    /// <summary>The built-in template (src/LiveKBench/Evaluation/Judge/default-judge-prompt.txt, embedded).</summary>
    public static string DefaultTemplate => Default.Value;

    /// <summary>Fills <paramref name="template"/> and appends <see cref="FormatInstructions"/>.</summary>
    public static string Build(string template, string devPatch, string devPatchMessage, string agentPatch)
        => template
            .Replace("{devPatch}", SourceOnly(devPatch), StringComparison.Ordinal)
            .Replace("{devPatchMessage}", devPatchMessage, StringComparison.Ordinal)
            .Replace("{agentPatch}", SourceOnly(agentPatch), StringComparison.Ordinal)
            + FormatInstructions;

    /// <summary>
    /// Keeps only the per-file sections (split at <c>diff --git</c> lines) of files with a source extension that are
    /// not binary. The text is returned unchanged when nothing is dropped or when it has no <c>diff --git</c> sections
    /// (plain <c>diff -u</c>: kept unless every file is non-source, then empty), and "" when everything is dropped.
    /// </summary>
    public static string SourceOnly(string patch)
    {
        if (string.IsNullOrEmpty(patch))
        {
            return patch;
        }
        var starts = new List<int>();
        if (patch.StartsWith("diff --git ", StringComparison.Ordinal))
        {
            starts.Add(0);
        }
        for (var i = patch.IndexOf("\ndiff --git ", StringComparison.Ordinal); i >= 0; i = patch.IndexOf("\ndiff --git ", i + 1, StringComparison.Ordinal))
        {
            starts.Add(i + 1);
        }
        if (starts.Count == 0)
        {
            try
            {
                var files = UnifiedDiff.Parse(patch);
                return files.Count > 0 && files.All(f => f.IsBinary || !PatchAnalyzer.IsSource(f.Path)) ? "" : patch;
            }
            catch (DiffFormatException)
            {
                return patch;
            }
        }
        var sb = new StringBuilder(patch[..starts[0]]);
        var dropped = false;
        var kept = 0;
        for (var s = 0; s < starts.Count; s++)
        {
            var end = s + 1 < starts.Count ? starts[s + 1] : patch.Length;
            var section = patch[starts[s]..end];
            List<FileDiff> files;
            try
            {
                files = UnifiedDiff.Parse(section);
            }
            catch (DiffFormatException)
            {
                files = [];
            }
            if (files.Count == 1 && (files[0].IsBinary || !PatchAnalyzer.IsSource(files[0].Path)))
            {
                dropped = true;
                continue;
            }
            sb.Append(section);
            kept++;
        }
        return !dropped ? patch : kept == 0 ? "" : sb.ToString();
    }

    [GeneratedRegex(@"<evaluation>(.*?)</evaluation>", RegexOptions.Singleline)]
    private static partial Regex Evaluation();

    [GeneratedRegex(@"<verdict>(.*?)</verdict>", RegexOptions.Singleline)]
    private static partial Regex VerdictTag();

    /// <summary>
    /// Parses a reply: exactly one <c>&lt;evaluation&gt;</c> element holding exactly one <c>&lt;verdict&gt;</c>
    /// whose trimmed, lower-cased text is <c>equivalent</c> (Yes) or <c>discrepant</c> (No); anything else is Error
    /// with a reason (empty reply, no evaluation, two evaluations, no verdict, two verdicts, unknown verdict).
    /// </summary>
    public static JudgeReply Parse(string? reply)
    {
        if (string.IsNullOrWhiteSpace(reply))
        {
            return new JudgeReply(VoteOutcome.Error, "empty reply");
        }
        var evals = Evaluation().Matches(reply);
        if (evals.Count == 0)
        {
            return new JudgeReply(VoteOutcome.Error, "no <evaluation>…</evaluation> element in the reply");
        }
        if (evals.Count > 1)
        {
            return new JudgeReply(VoteOutcome.Error, $"{evals.Count} <evaluation> elements in the reply");
        }
        var verdicts = VerdictTag().Matches(evals[0].Groups[1].Value);
        if (verdicts.Count != 1)
        {
            return new JudgeReply(VoteOutcome.Error, verdicts.Count == 0 ? "no <verdict> inside <evaluation>" : $"{verdicts.Count} <verdict> elements inside <evaluation>");
        }
        return verdicts[0].Groups[1].Value.Trim().ToLowerInvariant() switch
        {
            "equivalent" => new JudgeReply(VoteOutcome.Yes, null),
            "discrepant" => new JudgeReply(VoteOutcome.No, null),
            var other => new JudgeReply(VoteOutcome.Error, $"unknown verdict '{(other.Length > 40 ? other[..40] : other)}'"),
        };
    }
}
