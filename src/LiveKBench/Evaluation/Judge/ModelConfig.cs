using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace LiveKBench.Evaluation.Judge;

/// <summary>
/// A model configuration, <c>configs/models/NAME.yaml</c> in the workspace (camelCase keys), e.g.
/// <code>
/// baseUrl: https://api.openai.com/v1
/// model: gpt-4.1-mini
/// apiKeyEnv: OPENAI_API_KEY
/// temperature: 0.8
/// maxTokens: 4096
/// pricePerMillionInput: 0.4
/// pricePerMillionOutput: 1.6
/// trainingCutoff: 2024-06-01
/// </code>
/// </summary>
public sealed class ModelConfig
{
    /// <summary>Name (the file name without .yaml; set by the loader).</summary>
    [YamlIgnore]
    public string Name { get; set; } = "";

    /// <summary>Base URL of an OpenAI-compatible API including the version segment, e.g. <c>https://api.openai.com/v1</c>; requests go to <c>{baseUrl}/chat/completions</c>.</summary>
    public string BaseUrl { get; set; } = "";

    /// <summary>Model id sent in the request.</summary>
    public string Model { get; set; } = "";

    /// <summary>Name of the environment variable holding the API key (the key itself is never stored); null/empty = no Authorization header.</summary>
    public string? ApiKeyEnv { get; set; }

    /// <summary>Sampling temperature; null = the server's default.</summary>
    public double? Temperature { get; set; }

    /// <summary>Maximum completion tokens; null = the server's default.</summary>
    public int? MaxTokens { get; set; }

    /// <summary>USD per million prompt tokens (for cost accounting); 0 when unknown.</summary>
    public double PricePerMillionInput { get; set; }

    /// <summary>USD per million completion tokens; 0 when unknown.</summary>
    public double PricePerMillionOutput { get; set; }

    /// <summary>Training-data cutoff date of the model (UTC date, as published by its vendor); null when unknown. Used by <c>kbench research cutoff</c>.</summary>
    public DateTime? TrainingCutoff { get; set; }

    /// <summary>Time limit of one request attempt, seconds. Default 300.</summary>
    public double TimeoutSeconds { get; set; } = 300;

    /// <summary>Retries of a transient failure (HTTP 408/429/5xx, connection error, attempt timeout). Default 3.</summary>
    public int MaxRetries { get; set; } = 3;

    /// <summary>First retry delay in seconds (exponential back-off with jitter). Default 2.</summary>
    public double RetryDelaySeconds { get; set; } = 2;

    /// <summary>Requests to this model in flight at once. Default 4.</summary>
    public int MaxConcurrency { get; set; } = 4;

    /// <summary>USD cost of a request with the given token counts.</summary>
    public double Cost(long inputTokens, long outputTokens) => ((inputTokens * PricePerMillionInput) + (outputTokens * PricePerMillionOutput)) / 1_000_000.0;

    /// <summary>Loads <c>NAME.yaml</c> from <paramref name="modelsDir"/>.</summary>
    /// <exception cref="ConfigException">Missing file, bad YAML, or missing baseUrl/model.</exception>
    public static ModelConfig Load(string modelsDir, string name)
    {
        var path = Path.Combine(modelsDir, name + ".yaml");
        var config = ConfigYaml.Read<ModelConfig>(path);
        config.Name = name;
        if (string.IsNullOrWhiteSpace(config.BaseUrl) || string.IsNullOrWhiteSpace(config.Model))
        {
            throw new ConfigException($"{path}: baseUrl and model are required");
        }
        return config;
    }

    /// <summary>Every model configuration in <paramref name="modelsDir"/> (files *.yaml), by name; unreadable files are reported in <paramref name="errors"/>.</summary>
    public static List<ModelConfig> LoadAll(string modelsDir, List<string> errors)
    {
        var list = new List<ModelConfig>();
        if (!Directory.Exists(modelsDir))
        {
            return list;
        }
        foreach (var file in Directory.GetFiles(modelsDir, "*.yaml").Order(StringComparer.Ordinal))
        {
            try
            {
                list.Add(Load(modelsDir, Path.GetFileNameWithoutExtension(file)));
            }
            catch (ConfigException ex)
            {
                errors.Add(ex.Message);
            }
        }
        return list;
    }
}

/// <summary>
/// A judge configuration, <c>configs/judges/NAME.yaml</c>:
/// <code>
/// model: gpt-4.1-mini        # a model configuration name (configs/models/NAME.yaml)
/// votes: 5                   # default 5
/// prompt: |                  # optional; default: the built-in prompt (default-judge-prompt.txt)
///   ... {devPatch} ... {devPatchMessage} ... {agentPatch} ...
/// </code>
/// </summary>
public sealed class JudgeConfigFile
{
    /// <summary>Name (the file name without .yaml; set by the loader).</summary>
    [YamlIgnore]
    public string Name { get; set; } = "";

    /// <summary>Model configuration name.</summary>
    public string Model { get; set; } = "";

    /// <summary>Votes per pair (≥ 1). Default 5.</summary>
    public int Votes { get; set; } = 5;

    /// <summary>Prompt template with {devPatch}, {devPatchMessage}, {agentPatch}; null = <see cref="JudgePrompt.DefaultTemplate"/>.</summary>
    public string? Prompt { get; set; }

    /// <summary>The file's text as read.</summary>
    [YamlIgnore]
    public string Text { get; set; } = "";

    /// <summary>Loads <c>NAME.yaml</c> from <paramref name="judgesDir"/>.</summary>
    /// <exception cref="ConfigException">Missing file, bad YAML, missing model, votes &lt; 1.</exception>
    public static JudgeConfigFile Load(string judgesDir, string name)
    {
        var path = Path.Combine(judgesDir, name + ".yaml");
        var config = ConfigYaml.Read<JudgeConfigFile>(path);
        config.Name = name;
        config.Text = File.ReadAllText(path);
        if (string.IsNullOrWhiteSpace(config.Model))
        {
            throw new ConfigException($"{path}: model (a model configuration name) is required");
        }
        if (config.Votes < 1)
        {
            throw new ConfigException($"{path}: votes must be at least 1");
        }
        return config;
    }
}

/// <summary>A configuration file is missing or invalid.</summary>
public sealed class ConfigException(string message, Exception? inner = null) : Exception(message, inner);

internal static class ConfigYaml
{
    private static readonly IDeserializer Deserializer = new DeserializerBuilder()
        .WithNamingConvention(CamelCaseNamingConvention.Instance)
        .Build();

    public static T Read<T>(string path) where T : new()
    {
        if (!File.Exists(path))
        {
            throw new ConfigException($"{path} does not exist");
        }
        try
        {
            return Deserializer.Deserialize<T>(File.ReadAllText(path)) ?? new T();
        }
        catch (YamlException ex)
        {
            throw new ConfigException($"{path}: {ex.Message}", ex);
        }
    }
}
