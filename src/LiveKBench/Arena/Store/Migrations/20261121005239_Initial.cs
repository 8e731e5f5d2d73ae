using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace LiveKBench.Arena.Store.Migrations
{
    public partial class Initial : Migration
    {
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "AgentConfigurations",
                columns: table => new
                {
                    Id = table.Column<int>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    Name = table.Column<string>(type: "TEXT", nullable: false),
                    Agent = table.Column<string>(type: "TEXT", nullable: false),
                    Model = table.Column<string>(type: "TEXT", nullable: false),
                    ModelConfigName = table.Column<string>(type: "TEXT", nullable: true),
                    Stateful = table.Column<bool>(type: "INTEGER", nullable: false),
                    OracleMode = table.Column<bool>(type: "INTEGER", nullable: false),
                    Description = table.Column<string>(type: "TEXT", nullable: false),
                    ConfigText = table.Column<string>(type: "TEXT", nullable: true),
                    BatchCounter = table.Column<int>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_AgentConfigurations", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "Bugs",
                columns: table => new
                {
                    Id = table.Column<string>(type: "TEXT", nullable: false),
                    Extid = table.Column<string>(type: "TEXT", nullable: true),
                    SyzbotId = table.Column<string>(type: "TEXT", nullable: true),
                    Title = table.Column<string>(type: "TEXT", nullable: false),
                    Status = table.Column<string>(type: "TEXT", nullable: false),
                    Source = table.Column<string>(type: "TEXT", nullable: false),
                    BundleKey = table.Column<string>(type: "TEXT", nullable: true),
                    Link = table.Column<string>(type: "TEXT", nullable: true),
                    Namespace = table.Column<string>(type: "TEXT", nullable: true),
                    CrashTitle = table.Column<string>(type: "TEXT", nullable: true),
                    CrashReport = table.Column<string>(type: "TEXT", nullable: true),
                    Subsystems = table.Column<string>(type: "TEXT", nullable: false),
                    KernelSourceGit = table.Column<string>(type: "TEXT", nullable: true),
                    KernelSourceCommit = table.Column<string>(type: "TEXT", nullable: true),
                    KernelBase = table.Column<string>(type: "TEXT", nullable: true),
                    KernelConfig = table.Column<string>(type: "TEXT", nullable: true),
                    ConfigBase = table.Column<string>(type: "TEXT", nullable: true),
                    ConfigFragment = table.Column<string>(type: "TEXT", nullable: true),
                    Architecture = table.Column<string>(type: "TEXT", nullable: true),
                    SyzkallerCommit = table.Column<string>(type: "TEXT", nullable: true),
                    CauseCommitHash = table.Column<string>(type: "TEXT", nullable: true),
                    CauseCommitTitle = table.Column<string>(type: "TEXT", nullable: true),
                    ParentOfFix = table.Column<string>(type: "TEXT", nullable: true),
                    MirrorFixCommit = table.Column<string>(type: "TEXT", nullable: true),
                    AddedTime = table.Column<DateTime>(type: "TEXT", nullable: false),
                    ReportedTime = table.Column<DateTime>(type: "TEXT", nullable: true),
                    FirstCrash = table.Column<DateTime>(type: "TEXT", nullable: true),
                    LastCrash = table.Column<DateTime>(type: "TEXT", nullable: true),
                    FixTime = table.Column<DateTime>(type: "TEXT", nullable: true),
                    CloseTime = table.Column<DateTime>(type: "TEXT", nullable: true),
                    MetadataJson = table.Column<string>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Bugs", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "CrawlRecords",
                columns: table => new
                {
                    Id = table.Column<int>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    Namespace = table.Column<string>(type: "TEXT", nullable: false),
                    Link = table.Column<string>(type: "TEXT", nullable: false),
                    Title = table.Column<string>(type: "TEXT", nullable: false),
                    Outcome = table.Column<string>(type: "TEXT", nullable: false),
                    Reason = table.Column<string>(type: "TEXT", nullable: true),
                    BugId = table.Column<string>(type: "TEXT", nullable: true),
                    FirstSeen = table.Column<DateTime>(type: "TEXT", nullable: false),
                    LastSeen = table.Column<DateTime>(type: "TEXT", nullable: false),
                    Attempts = table.Column<int>(type: "INTEGER", nullable: false),
                    FailureReason = table.Column<string>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_CrawlRecords", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "Datasets",
                columns: table => new
                {
                    Id = table.Column<int>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    Name = table.Column<string>(type: "TEXT", nullable: false),
                    Description = table.Column<string>(type: "TEXT", nullable: false),
                    AddedTime = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Datasets", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "GymJobs",
                columns: table => new
                {
                    Id = table.Column<int>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    Purpose = table.Column<string>(type: "TEXT", nullable: false),
                    BugId = table.Column<string>(type: "TEXT", nullable: true),
                    Status = table.Column<string>(type: "TEXT", nullable: false),
                    CreatedTime = table.Column<DateTime>(type: "TEXT", nullable: false),
                    UpdatedTime = table.Column<DateTime>(type: "TEXT", nullable: false),
                    Attempts = table.Column<int>(type: "INTEGER", nullable: false),
                    FailureReason = table.Column<string>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_GymJobs", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "JudgeConfigurations",
                columns: table => new
                {
                    Id = table.Column<int>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    Name = table.Column<string>(type: "TEXT", nullable: false),
                    Prompt = table.Column<string>(type: "TEXT", nullable: false),
                    ModelConfigName = table.Column<string>(type: "TEXT", nullable: false),
                    Votes = table.Column<int>(type: "INTEGER", nullable: false),
                    ConfigText = table.Column<string>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_JudgeConfigurations", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "Patches",
                columns: table => new
                {
                    Id = table.Column<int>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    Content = table.Column<string>(type: "TEXT", nullable: false),
                    ContentHash = table.Column<string>(type: "TEXT", nullable: false),
                    AnalysisStatus = table.Column<string>(type: "TEXT", nullable: false),
                    ModifiedFiles = table.Column<string>(type: "TEXT", nullable: false),
                    ModifiedFunctions = table.Column<string>(type: "TEXT", nullable: false),
                    ModifiedLines = table.Column<int>(type: "INTEGER", nullable: false),
                    Attempts = table.Column<int>(type: "INTEGER", nullable: false),
                    FailureReason = table.Column<string>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Patches", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "BugCrashes",
                columns: table => new
                {
                    Id = table.Column<int>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    BugId = table.Column<string>(type: "TEXT", nullable: false),
                    Index = table.Column<int>(type: "INTEGER", nullable: false),
                    Title = table.Column<string>(type: "TEXT", nullable: true),
                    SyzReproducerLink = table.Column<string>(type: "TEXT", nullable: true),
                    CReproducerLink = table.Column<string>(type: "TEXT", nullable: true),
                    ReproOpts = table.Column<string>(type: "TEXT", nullable: true),
                    KernelConfigLink = table.Column<string>(type: "TEXT", nullable: true),
                    KernelSourceGit = table.Column<string>(type: "TEXT", nullable: true),
                    KernelSourceCommit = table.Column<string>(type: "TEXT", nullable: true),
                    SyzkallerGit = table.Column<string>(type: "TEXT", nullable: true),
                    SyzkallerCommit = table.Column<string>(type: "TEXT", nullable: true),
                    CompilerDescription = table.Column<string>(type: "TEXT", nullable: true),
                    Architecture = table.Column<string>(type: "TEXT", nullable: true),
                    CrashReportLink = table.Column<string>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_BugCrashes", x => x.Id);
                    table.ForeignKey(
                        name: "FK_BugCrashes_Bugs_BugId",
                        column: x => x.BugId,
                        principalTable: "Bugs",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "FixCommits",
                columns: table => new
                {
                    Id = table.Column<int>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    BugId = table.Column<string>(type: "TEXT", nullable: false),
                    Index = table.Column<int>(type: "INTEGER", nullable: false),
                    Title = table.Column<string>(type: "TEXT", nullable: true),
                    Hash = table.Column<string>(type: "TEXT", nullable: true),
                    Link = table.Column<string>(type: "TEXT", nullable: true),
                    Repo = table.Column<string>(type: "TEXT", nullable: true),
                    Branch = table.Column<string>(type: "TEXT", nullable: true),
                    Author = table.Column<string>(type: "TEXT", nullable: true),
                    AuthorName = table.Column<string>(type: "TEXT", nullable: true),
                    Date = table.Column<DateTime>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_FixCommits", x => x.Id);
                    table.ForeignKey(
                        name: "FK_FixCommits_Bugs_BugId",
                        column: x => x.BugId,
                        principalTable: "Bugs",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "Reproducers",
                columns: table => new
                {
                    Id = table.Column<int>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    BugId = table.Column<string>(type: "TEXT", nullable: false),
                    Kind = table.Column<string>(type: "TEXT", nullable: false),
                    Text = table.Column<string>(type: "TEXT", nullable: false),
                    Options = table.Column<string>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Reproducers", x => x.Id);
                    table.ForeignKey(
                        name: "FK_Reproducers_Bugs_BugId",
                        column: x => x.BugId,
                        principalTable: "Bugs",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "DatasetMembers",
                columns: table => new
                {
                    DatasetId = table.Column<int>(type: "INTEGER", nullable: false),
                    BugId = table.Column<string>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_DatasetMembers", x => new { x.DatasetId, x.BugId });
                    table.ForeignKey(
                        name: "FK_DatasetMembers_Bugs_BugId",
                        column: x => x.BugId,
                        principalTable: "Bugs",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                    table.ForeignKey(
                        name: "FK_DatasetMembers_Datasets_DatasetId",
                        column: x => x.DatasetId,
                        principalTable: "Datasets",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "GymJobStages",
                columns: table => new
                {
                    Id = table.Column<int>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    GymJobId = table.Column<int>(type: "INTEGER", nullable: false),
                    Index = table.Column<int>(type: "INTEGER", nullable: false),
                    Kind = table.Column<string>(type: "TEXT", nullable: false),
                    Status = table.Column<string>(type: "TEXT", nullable: false),
                    ArgumentsJson = table.Column<string>(type: "TEXT", nullable: false),
                    ResultJson = table.Column<string>(type: "TEXT", nullable: true),
                    StartedTime = table.Column<DateTime>(type: "TEXT", nullable: true),
                    FinishedTime = table.Column<DateTime>(type: "TEXT", nullable: true),
                    Attempts = table.Column<int>(type: "INTEGER", nullable: false),
                    FailureReason = table.Column<string>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_GymJobStages", x => x.Id);
                    table.ForeignKey(
                        name: "FK_GymJobStages_GymJobs_GymJobId",
                        column: x => x.GymJobId,
                        principalTable: "GymJobs",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "KcacheEntries",
                columns: table => new
                {
                    Id = table.Column<int>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    BugId = table.Column<string>(type: "TEXT", nullable: false),
                    BaseKind = table.Column<string>(type: "TEXT", nullable: false),
                    BaseCommit = table.Column<string>(type: "TEXT", nullable: true),
                    ConfigHash = table.Column<string>(type: "TEXT", nullable: true),
                    Status = table.Column<string>(type: "TEXT", nullable: false),
                    Verdict = table.Column<string>(type: "TEXT", nullable: true),
                    CrashTitle = table.Column<string>(type: "TEXT", nullable: true),
                    SameCrash = table.Column<bool>(type: "INTEGER", nullable: true),
                    Reason = table.Column<string>(type: "TEXT", nullable: true),
                    BuildDirectory = table.Column<string>(type: "TEXT", nullable: true),
                    GymJobId = table.Column<int>(type: "INTEGER", nullable: true),
                    ResultJson = table.Column<string>(type: "TEXT", nullable: true),
                    AddedTime = table.Column<DateTime>(type: "TEXT", nullable: false),
                    UpdatedTime = table.Column<DateTime>(type: "TEXT", nullable: false),
                    Attempts = table.Column<int>(type: "INTEGER", nullable: false),
                    FailureReason = table.Column<string>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_KcacheEntries", x => x.Id);
                    table.ForeignKey(
                        name: "FK_KcacheEntries_Bugs_BugId",
                        column: x => x.BugId,
                        principalTable: "Bugs",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                    table.ForeignKey(
                        name: "FK_KcacheEntries_GymJobs_GymJobId",
                        column: x => x.GymJobId,
                        principalTable: "GymJobs",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.SetNull);
                });

            migrationBuilder.CreateTable(
                name: "AgentRuns",
                columns: table => new
                {
                    Id = table.Column<int>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    AgentConfigurationId = table.Column<int>(type: "INTEGER", nullable: false),
                    BugId = table.Column<string>(type: "TEXT", nullable: false),
                    RunIndex = table.Column<int>(type: "INTEGER", nullable: false),
                    Batch = table.Column<int>(type: "INTEGER", nullable: false),
                    BaseCommit = table.Column<string>(type: "TEXT", nullable: true),
                    Status = table.Column<string>(type: "TEXT", nullable: false),
                    PatchId = table.Column<int>(type: "INTEGER", nullable: true),
                    DollarCost = table.Column<double>(type: "REAL", nullable: true),
                    TimeSeconds = table.Column<double>(type: "REAL", nullable: true),
                    Steps = table.Column<int>(type: "INTEGER", nullable: true),
                    ExitReason = table.Column<string>(type: "TEXT", nullable: true),
                    TrajectoryPath = table.Column<string>(type: "TEXT", nullable: true),
                    LogPath = table.Column<string>(type: "TEXT", nullable: true),
                    AddedTime = table.Column<DateTime>(type: "TEXT", nullable: false),
                    UpdatedTime = table.Column<DateTime>(type: "TEXT", nullable: false),
                    Attempts = table.Column<int>(type: "INTEGER", nullable: false),
                    FailureReason = table.Column<string>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_AgentRuns", x => x.Id);
                    table.ForeignKey(
                        name: "FK_AgentRuns_AgentConfigurations_AgentConfigurationId",
                        column: x => x.AgentConfigurationId,
                        principalTable: "AgentConfigurations",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                    table.ForeignKey(
                        name: "FK_AgentRuns_Bugs_BugId",
                        column: x => x.BugId,
                        principalTable: "Bugs",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                    table.ForeignKey(
                        name: "FK_AgentRuns_Patches_PatchId",
                        column: x => x.PatchId,
                        principalTable: "Patches",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Restrict);
                });

            migrationBuilder.CreateTable(
                name: "DeveloperPatches",
                columns: table => new
                {
                    Id = table.Column<int>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    BugId = table.Column<string>(type: "TEXT", nullable: false),
                    Status = table.Column<string>(type: "TEXT", nullable: false),
                    PatchId = table.Column<int>(type: "INTEGER", nullable: true),
                    CommitHash = table.Column<string>(type: "TEXT", nullable: true),
                    ParentCommit = table.Column<string>(type: "TEXT", nullable: true),
                    Message = table.Column<string>(type: "TEXT", nullable: true),
                    Author = table.Column<string>(type: "TEXT", nullable: true),
                    FixedTime = table.Column<DateTime>(type: "TEXT", nullable: true),
                    AddedTime = table.Column<DateTime>(type: "TEXT", nullable: false),
                    Attempts = table.Column<int>(type: "INTEGER", nullable: false),
                    FailureReason = table.Column<string>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_DeveloperPatches", x => x.Id);
                    table.ForeignKey(
                        name: "FK_DeveloperPatches_Bugs_BugId",
                        column: x => x.BugId,
                        principalTable: "Bugs",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                    table.ForeignKey(
                        name: "FK_DeveloperPatches_Patches_PatchId",
                        column: x => x.PatchId,
                        principalTable: "Patches",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Restrict);
                });

            migrationBuilder.CreateTable(
                name: "CrashResolutionEvaluations",
                columns: table => new
                {
                    Id = table.Column<int>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    AgentRunId = table.Column<int>(type: "INTEGER", nullable: false),
                    KcacheEntryId = table.Column<int>(type: "INTEGER", nullable: false),
                    Status = table.Column<string>(type: "TEXT", nullable: false),
                    Verdict = table.Column<string>(type: "TEXT", nullable: true),
                    CrashTitle = table.Column<string>(type: "TEXT", nullable: true),
                    SameCrash = table.Column<bool>(type: "INTEGER", nullable: true),
                    Reason = table.Column<string>(type: "TEXT", nullable: true),
                    GymJobId = table.Column<int>(type: "INTEGER", nullable: true),
                    ResultJson = table.Column<string>(type: "TEXT", nullable: true),
                    UpdatedTime = table.Column<DateTime>(type: "TEXT", nullable: false),
                    Attempts = table.Column<int>(type: "INTEGER", nullable: false),
                    FailureReason = table.Column<string>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_CrashResolutionEvaluations", x => x.Id);
                    table.ForeignKey(
                        name: "FK_CrashResolutionEvaluations_AgentRuns_AgentRunId",
                        column: x => x.AgentRunId,
                        principalTable: "AgentRuns",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                    table.ForeignKey(
                        name: "FK_CrashResolutionEvaluations_GymJobs_GymJobId",
                        column: x => x.GymJobId,
                        principalTable: "GymJobs",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.SetNull);
                    table.ForeignKey(
                        name: "FK_CrashResolutionEvaluations_KcacheEntries_KcacheEntryId",
                        column: x => x.KcacheEntryId,
                        principalTable: "KcacheEntries",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "JudgeEvaluations",
                columns: table => new
                {
                    Id = table.Column<int>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    JudgeConfigurationId = table.Column<int>(type: "INTEGER", nullable: false),
                    AgentRunId = table.Column<int>(type: "INTEGER", nullable: false),
                    DeveloperPatchId = table.Column<int>(type: "INTEGER", nullable: false),
                    Status = table.Column<string>(type: "TEXT", nullable: false),
                    Outcome = table.Column<string>(type: "TEXT", nullable: true),
                    YesCount = table.Column<int>(type: "INTEGER", nullable: false),
                    NoCount = table.Column<int>(type: "INTEGER", nullable: false),
                    ErrorCount = table.Column<int>(type: "INTEGER", nullable: false),
                    DollarCost = table.Column<double>(type: "REAL", nullable: false),
                    UpdatedTime = table.Column<DateTime>(type: "TEXT", nullable: false),
                    Attempts = table.Column<int>(type: "INTEGER", nullable: false),
                    FailureReason = table.Column<string>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_JudgeEvaluations", x => x.Id);
                    table.ForeignKey(
                        name: "FK_JudgeEvaluations_AgentRuns_AgentRunId",
                        column: x => x.AgentRunId,
                        principalTable: "AgentRuns",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                    table.ForeignKey(
                        name: "FK_JudgeEvaluations_DeveloperPatches_DeveloperPatchId",
                        column: x => x.DeveloperPatchId,
                        principalTable: "DeveloperPatches",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                    table.ForeignKey(
                        name: "FK_JudgeEvaluations_JudgeConfigurations_JudgeConfigurationId",
                        column: x => x.JudgeConfigurationId,
                        principalTable: "JudgeConfigurations",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "LocalizationEvaluations",
                columns: table => new
                {
                    Id = table.Column<int>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    AgentRunId = table.Column<int>(type: "INTEGER", nullable: false),
                    DeveloperPatchId = table.Column<int>(type: "INTEGER", nullable: false),
                    Status = table.Column<string>(type: "TEXT", nullable: false),
                    Reason = table.Column<string>(type: "TEXT", nullable: true),
                    FileIntersection = table.Column<int>(type: "INTEGER", nullable: false),
                    FileUnion = table.Column<int>(type: "INTEGER", nullable: false),
                    FileIou = table.Column<double>(type: "REAL", nullable: false),
                    FunctionIntersection = table.Column<int>(type: "INTEGER", nullable: false),
                    FunctionUnion = table.Column<int>(type: "INTEGER", nullable: false),
                    FunctionIou = table.Column<double>(type: "REAL", nullable: false),
                    UpdatedTime = table.Column<DateTime>(type: "TEXT", nullable: false),
                    Attempts = table.Column<int>(type: "INTEGER", nullable: false),
                    FailureReason = table.Column<string>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_LocalizationEvaluations", x => x.Id);
                    table.ForeignKey(
                        name: "FK_LocalizationEvaluations_AgentRuns_AgentRunId",
                        column: x => x.AgentRunId,
                        principalTable: "AgentRuns",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                    table.ForeignKey(
                        name: "FK_LocalizationEvaluations_DeveloperPatches_DeveloperPatchId",
                        column: x => x.DeveloperPatchId,
                        principalTable: "DeveloperPatches",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "JudgeVotes",
                columns: table => new
                {
                    Id = table.Column<int>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    JudgeEvaluationId = table.Column<int>(type: "INTEGER", nullable: false),
                    Index = table.Column<int>(type: "INTEGER", nullable: false),
                    Outcome = table.Column<string>(type: "TEXT", nullable: false),
                    MessagesJson = table.Column<string>(type: "TEXT", nullable: false),
                    Error = table.Column<string>(type: "TEXT", nullable: true),
                    InputTokens = table.Column<long>(type: "INTEGER", nullable: false),
                    OutputTokens = table.Column<long>(type: "INTEGER", nullable: false),
                    DollarCost = table.Column<double>(type: "REAL", nullable: false),
                    LatencySeconds = table.Column<double>(type: "REAL", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_JudgeVotes", x => x.Id);
                    table.ForeignKey(
                        name: "FK_JudgeVotes_JudgeEvaluations_JudgeEvaluationId",
                        column: x => x.JudgeEvaluationId,
                        principalTable: "JudgeEvaluations",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_AgentConfigurations_Name",
                table: "AgentConfigurations",
                column: "Name",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_AgentRuns_AgentConfigurationId_BugId_RunIndex",
                table: "AgentRuns",
                columns: new[] { "AgentConfigurationId", "BugId", "RunIndex" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_AgentRuns_BugId",
                table: "AgentRuns",
                column: "BugId");

            migrationBuilder.CreateIndex(
                name: "IX_AgentRuns_PatchId",
                table: "AgentRuns",
                column: "PatchId");

            migrationBuilder.CreateIndex(
                name: "IX_BugCrashes_BugId_Index",
                table: "BugCrashes",
                columns: new[] { "BugId", "Index" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_Bugs_BundleKey",
                table: "Bugs",
                column: "BundleKey");

            migrationBuilder.CreateIndex(
                name: "IX_Bugs_Extid",
                table: "Bugs",
                column: "Extid");

            migrationBuilder.CreateIndex(
                name: "IX_Bugs_Status",
                table: "Bugs",
                column: "Status");

            migrationBuilder.CreateIndex(
                name: "IX_CrashResolutionEvaluations_AgentRunId",
                table: "CrashResolutionEvaluations",
                column: "AgentRunId",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_CrashResolutionEvaluations_GymJobId",
                table: "CrashResolutionEvaluations",
                column: "GymJobId");

            migrationBuilder.CreateIndex(
                name: "IX_CrashResolutionEvaluations_KcacheEntryId",
                table: "CrashResolutionEvaluations",
                column: "KcacheEntryId");

            migrationBuilder.CreateIndex(
                name: "IX_CrawlRecords_Namespace_Link",
                table: "CrawlRecords",
                columns: new[] { "Namespace", "Link" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_CrawlRecords_Outcome",
                table: "CrawlRecords",
                column: "Outcome");

            migrationBuilder.CreateIndex(
                name: "IX_DatasetMembers_BugId",
                table: "DatasetMembers",
                column: "BugId");

            migrationBuilder.CreateIndex(
                name: "IX_Datasets_Name",
                table: "Datasets",
                column: "Name",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_DeveloperPatches_BugId",
                table: "DeveloperPatches",
                column: "BugId",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_DeveloperPatches_PatchId",
                table: "DeveloperPatches",
                column: "PatchId");

            migrationBuilder.CreateIndex(
                name: "IX_FixCommits_BugId_Index",
                table: "FixCommits",
                columns: new[] { "BugId", "Index" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_GymJobStages_GymJobId_Index",
                table: "GymJobStages",
                columns: new[] { "GymJobId", "Index" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_GymJobs_Status",
                table: "GymJobs",
                column: "Status");

            migrationBuilder.CreateIndex(
                name: "IX_JudgeConfigurations_Name",
                table: "JudgeConfigurations",
                column: "Name",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_JudgeEvaluations_AgentRunId",
                table: "JudgeEvaluations",
                column: "AgentRunId");

            migrationBuilder.CreateIndex(
                name: "IX_JudgeEvaluations_DeveloperPatchId",
                table: "JudgeEvaluations",
                column: "DeveloperPatchId");

            migrationBuilder.CreateIndex(
                name: "IX_JudgeEvaluations_JudgeConfigurationId_AgentRunId",
                table: "JudgeEvaluations",
                columns: new[] { "JudgeConfigurationId", "AgentRunId" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_JudgeVotes_JudgeEvaluationId_Index",
                table: "JudgeVotes",
                columns: new[] { "JudgeEvaluationId", "Index" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_KcacheEntries_BugId_BaseKind",
                table: "KcacheEntries",
                columns: new[] { "BugId", "BaseKind" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_KcacheEntries_GymJobId",
                table: "KcacheEntries",
                column: "GymJobId");

            migrationBuilder.CreateIndex(
                name: "IX_LocalizationEvaluations_AgentRunId",
                table: "LocalizationEvaluations",
                column: "AgentRunId",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_LocalizationEvaluations_DeveloperPatchId",
                table: "LocalizationEvaluations",
                column: "DeveloperPatchId");

            migrationBuilder.CreateIndex(
                name: "IX_Patches_ContentHash",
                table: "Patches",
                column: "ContentHash");

            migrationBuilder.CreateIndex(
                name: "IX_Reproducers_BugId_Kind",
                table: "Reproducers",
                columns: new[] { "BugId", "Kind" },
                unique: true);
        }

        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "BugCrashes");

            migrationBuilder.DropTable(
                name: "CrashResolutionEvaluations");

            migrationBuilder.DropTable(
                name: "CrawlRecords");

            migrationBuilder.DropTable(
                name: "DatasetMembers");

            migrationBuilder.DropTable(
                name: "FixCommits");

            migrationBuilder.DropTable(
                name: "GymJobStages");

            migrationBuilder.DropTable(
                name: "JudgeVotes");

            migrationBuilder.DropTable(
                name: "LocalizationEvaluations");

            migrationBuilder.DropTable(
                name: "Reproducers");

            migrationBuilder.DropTable(
                name: "KcacheEntries");

            migrationBuilder.DropTable(
                name: "Datasets");

            migrationBuilder.DropTable(
                name: "JudgeEvaluations");

            migrationBuilder.DropTable(
                name: "GymJobs");

            migrationBuilder.DropTable(
                name: "AgentRuns");

            migrationBuilder.DropTable(
                name: "DeveloperPatches");

            migrationBuilder.DropTable(
                name: "JudgeConfigurations");

            migrationBuilder.DropTable(
                name: "AgentConfigurations");

            migrationBuilder.DropTable(
                name: "Bugs");

            migrationBuilder.DropTable(
                name: "Patches");
        }
    }
}
