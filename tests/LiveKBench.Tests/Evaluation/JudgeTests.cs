using LiveKBench.Arena.Store;
using LiveKBench.Evaluation.Judge;
using LiveKBench.Llm;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;

namespace LiveKBench.Tests.Evaluation;

public sealed class JudgeTests
{
    private static ModelConfig Model(string baseUrl) => new()
    {
        Name = "fake",
        BaseUrl = baseUrl,
        Model = "fake-model",
        PricePerMillionInput = 1.0,
        PricePerMillionOutput = 10.0,
        TimeoutSeconds = 2,
        MaxRetries = 3,
        RetryDelaySeconds = 0.01,
        MaxConcurrency = 8,
    };

    [Theory]
    [InlineData("<evaluation><verdict>equivalent</verdict></evaluation>", VoteOutcome.Yes)]
    [InlineData("<reasoning>r</reasoning><evaluation>\n<verdict>\n DISCREPANT \n</verdict></evaluation>", VoteOutcome.No)]
    [InlineData("<evaluation><verdict>equivalent</verdict><verdict>discrepant</verdict></evaluation>", VoteOutcome.Error)]
    [InlineData("<evaluation><verdict>equivalent</verdict></evaluation><evaluation><verdict>equivalent</verdict></evaluation>", VoteOutcome.Error)]
    [InlineData("<evaluation>nothing</evaluation>", VoteOutcome.Error)]
    [InlineData("<verdict>equivalent</verdict>", VoteOutcome.Error)]
    [InlineData("<evaluation><verdict>same</verdict></evaluation>", VoteOutcome.Error)]
    [InlineData("", VoteOutcome.Error)]
    public void ParseReplies(string reply, VoteOutcome expected)
    {
        var r = JudgePrompt.Parse(reply);
        Assert.Equal(expected, r.Outcome);
        Assert.Equal(expected == VoteOutcome.Error, r.Error is not null);
    }

    [Fact]
    public void PromptFillsPlaceholdersAndDropsNonSourceFiles()
    {
        const string dev = "diff --git a/net/x.c b/net/x.c\n--- a/net/x.c\n+++ b/net/x.c\n@@ -1,1 +1,1 @@\n-a\n+b\ndiff --git a/Documentation/x.rst b/Documentation/x.rst\n--- a/Documentation/x.rst\n+++ b/Documentation/x.rst\n@@ -1,1 +1,1 @@\n-a\n+b\n";
        var p = JudgePrompt.Build(JudgePrompt.DefaultTemplate, dev, "net: fix {braces} ok", "AGENT");
        Assert.Contains("net/x.c", p);
        Assert.DoesNotContain("Documentation/x.rst", p);
        Assert.Contains("net: fix {braces} ok", p);
        Assert.Contains("AGENT", p);
        Assert.DoesNotContain("{devPatch}", p);
        Assert.EndsWith("</evaluation>", p.TrimEnd());
        Assert.Equal("", JudgePrompt.SourceOnly("diff --git a/README b/README\n--- a/README\n+++ b/README\n@@ -1 +1 @@\n-a\n+b\n"));
    }

    [Fact]
    public void TieIsNotEquivalentAndAllErrorsFail()
    {
        VoteResult V(VoteOutcome o) => new(o, "[]", o == VoteOutcome.Error ? "boom" : null, 0, 0, 0.5, 1);
        var tie = new JudgeEvaluation();
        JudgeRunner.Apply(tie, [V(VoteOutcome.Yes), V(VoteOutcome.No), V(VoteOutcome.Error)]);
        Assert.Equal((WorkStatus.Done, JudgeOutcome.Discrepant, 1, 1, 1), (tie.Status, tie.Outcome!.Value, tie.YesCount, tie.NoCount, tie.ErrorCount));
        Assert.Equal(1.5, tie.DollarCost, 9);
        var win = new JudgeEvaluation();
        JudgeRunner.Apply(win, [V(VoteOutcome.Yes), V(VoteOutcome.Error), V(VoteOutcome.Error)]);
        Assert.Equal(JudgeOutcome.Equivalent, win.Outcome);
        var dead = new JudgeEvaluation();
        JudgeRunner.Apply(dead, [V(VoteOutcome.Error), V(VoteOutcome.Error)]);
        Assert.Equal(WorkStatus.Failed, dead.Status);
        Assert.Null(dead.Outcome);
        Assert.Contains("all 2 votes failed", dead.FailureReason);
    }

    [Fact]
    public async Task BatchAgainstFakeServer()
    {
        using var server = new FakeLlmServer();
        using var store = new EvalStore();
        store.AddBug("b1", "--- a/x.c\n+++ b/x.c\n@@ -1 +1 @@\n-a\n+b\n");
        var cfg = store.AddConfig("agent");
        string[] modes = ["equivalent", "discrepant", "malformed", "empty", "twoverdicts", "noverdict", "429then-ok", "500", "hang"];
        var runs = modes.Select((m, i) => (Mode: m, Run: store.AddRun(cfg, "b1", i, $"patch SCRIPT:{m}\n"))).ToList();
        var model = Model(server.BaseUrl);
        model.TimeoutSeconds = 1;
        model.MaxRetries = 1;
        var judge = new JudgeConfiguration { Name = "j", Prompt = JudgePrompt.DefaultTemplate, ModelConfigName = "fake", Votes = 3 };
        store.Db.JudgeConfigurations.Add(judge);
        store.Db.SaveChanges();
        using var client = new OpenAiCompatibleChatClient(model);
        using var runner = new JudgeRunner(client, model);
        var summary = await runner.RunAsync(store.Db, judge, 3, NullLogger.Instance, TestContext.Current.CancellationToken);
        Assert.Equal(modes.Length, summary.Pairs);
        var rows = store.Db.JudgeEvaluations.AsNoTracking().Include(e => e.Votes).ToDictionary(e => e.AgentRunId);
        JudgeEvaluation Row(string mode) => rows[runs.Single(r => r.Mode == mode).Run.Id];

        Assert.Equal((WorkStatus.Done, JudgeOutcome.Equivalent, 3), (Row("equivalent").Status, Row("equivalent").Outcome!.Value, Row("equivalent").YesCount));
        Assert.Equal(3 * ((1000 * 1.0) + (200 * 10.0)) / 1e6, Row("equivalent").DollarCost, 9);
        Assert.All(Row("equivalent").Votes, v => Assert.Equal(1000, v.InputTokens));
        Assert.Contains("\"assistant\"", Row("equivalent").Votes[0].MessagesJson);
        Assert.Equal(JudgeOutcome.Discrepant, Row("discrepant").Outcome);
        foreach (var bad in new[] { "malformed", "empty", "twoverdicts", "noverdict" })
        {
            var r = Row(bad);
            Assert.Equal(WorkStatus.Failed, r.Status);
            Assert.Equal(3, r.ErrorCount);
            Assert.Contains("all 3 votes failed", r.FailureReason);
            Assert.Equal(1, r.Attempts);
        }
        Assert.Contains("empty reply", Row("empty").FailureReason);
        Assert.Contains("2 <verdict>", Row("twoverdicts").FailureReason);
        Assert.Contains("HTTP 500", Row("500").FailureReason);
        Assert.Contains("no answer within", Row("hang").FailureReason);
        Assert.Equal(WorkStatus.Failed, Row("hang").Status);
        // 429 then OK: with one retry per vote, 3 votes: at least one retried into success.
        var rate = Row("429then-ok");
        Assert.Equal(WorkStatus.Done, rate.Status);
        Assert.True(rate.YesCount >= 1);
        Assert.True(server.Requests("500") == 6, $"500 requests: {server.Requests("500")}"); // 3 votes × (1 + 1 retry)

        // Failed pairs are retried by the next run; done ones are not.
        var again = await runner.RunAsync(store.Db, judge, 3, NullLogger.Instance, TestContext.Current.CancellationToken);
        Assert.Equal(6, again.Pairs);
        var id500 = runs.Single(r => r.Mode == "500").Run.Id;
        Assert.Equal(2, store.Db.JudgeEvaluations.AsNoTracking().Single(e => e.AgentRunId == id500).Attempts);
    }

    [Fact]
    public async Task ConfigFilesAndMissingApiKey()
    {
        using var store = new EvalStore();
        var models = Path.Combine(store.Workspace.ConfigsDir, "models");
        var judges = Path.Combine(store.Workspace.ConfigsDir, "judges");
        await File.WriteAllTextAsync(Path.Combine(models, "m.yaml"), "baseUrl: http://127.0.0.1:9/v1\nmodel: x\napiKeyEnv: KBENCH_TEST_SURELY_UNSET_KEY\ntemperature: 0.8\nmaxTokens: 100\npricePerMillionInput: 1.5\ntrainingCutoff: 2024-06-01\n", TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(Path.Combine(judges, "j.yaml"), "model: m\nvotes: 3\n", TestContext.Current.CancellationToken);
        var m = ModelConfig.Load(models, "m");
        Assert.Equal(new DateTime(2024, 6, 1), m.TrainingCutoff);
        Assert.Equal(1.5, m.PricePerMillionInput);
        var j = JudgeConfigFile.Load(judges, "j");
        Assert.Equal(3, j.Votes);
        Assert.Null(j.Prompt);
        var row = JudgeRunner.UpsertConfiguration(store.Db, j);
        Assert.Contains("{agentPatch}", row.Prompt);
        var ex = Assert.Throws<ConfigException>(() => new OpenAiCompatibleChatClient(m, environment: _ => null));
        Assert.Contains("KBENCH_TEST_SURELY_UNSET_KEY", ex.Message);
        Assert.Throws<ConfigException>(() => ModelConfig.Load(models, "absent"));
    }
}
