using System;
using System.Collections.Generic;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace LiveKBench.Arena.Store.Migrations
{
    public partial class LeaderboardCells : Migration
    {
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "LeaderboardCells",
                columns: table => new
                {
                    AgentConfigurationId = table.Column<int>(type: "INTEGER", nullable: false),
                    BugId = table.Column<string>(type: "TEXT", nullable: false),
                    Runs = table.Column<int>(type: "INTEGER", nullable: false),
                    Data = table.Column<byte[]>(type: "BLOB", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_LeaderboardCells", x => new { x.AgentConfigurationId, x.BugId });
                });

            migrationBuilder.CreateTable(
                name: "LeaderboardDirtyCells",
                columns: table => new
                {
                    Id = table.Column<int>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    AgentConfigurationId = table.Column<int>(type: "INTEGER", nullable: false),
                    BugId = table.Column<string>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_LeaderboardDirtyCells", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_LeaderboardDirtyCells_AgentConfigurationId_BugId",
                table: "LeaderboardDirtyCells",
                columns: new[] { "AgentConfigurationId", "BugId" });

            // Staleness tracking: every write that can change a cell's scores marks the cell dirty, in the same
            // transaction as the write. Only the columns the leaderboard reads fire the UPDATE triggers.
            foreach (var sql in TriggerSql())
            {
                migrationBuilder.Sql(sql);
            }

            // Every existing (configuration, bug) starts dirty: the first leaderboard query computes its cell.
            migrationBuilder.Sql("INSERT INTO \"LeaderboardDirtyCells\" (\"AgentConfigurationId\", \"BugId\") SELECT DISTINCT \"AgentConfigurationId\", \"BugId\" FROM \"AgentRuns\";");
        }

        /// <summary>(table, UPDATE OF columns) of the evaluation tables whose rows point at an agent run.</summary>
        private static readonly (string Table, string Columns)[] EvaluationTables =
        {
            ("CrashResolutionEvaluations", "\"AgentRunId\", \"Status\", \"Verdict\""),
            ("JudgeEvaluations", "\"AgentRunId\", \"JudgeConfigurationId\", \"Status\", \"Outcome\""),
            ("LocalizationEvaluations", "\"AgentRunId\", \"Status\", \"FileIou\", \"FunctionIou\""),
        };

        private static readonly string[] TriggerNames =
        {
            "LeaderboardDirty_AgentRuns_Insert",
            "LeaderboardDirty_AgentRuns_Delete",
            "LeaderboardDirty_AgentRuns_Update",
            "LeaderboardDirty_CrashResolutionEvaluations_Insert",
            "LeaderboardDirty_CrashResolutionEvaluations_Delete",
            "LeaderboardDirty_CrashResolutionEvaluations_Update",
            "LeaderboardDirty_JudgeEvaluations_Insert",
            "LeaderboardDirty_JudgeEvaluations_Delete",
            "LeaderboardDirty_JudgeEvaluations_Update",
            "LeaderboardDirty_LocalizationEvaluations_Insert",
            "LeaderboardDirty_LocalizationEvaluations_Delete",
            "LeaderboardDirty_LocalizationEvaluations_Update",
        };

        /// <summary>Marks (config, bug) dirty unless it already is.</summary>
        private static string MarkCell(string config, string bug) => $"""
            INSERT INTO "LeaderboardDirtyCells" ("AgentConfigurationId", "BugId")
            SELECT {config}, {bug}
            WHERE NOT EXISTS (SELECT 1 FROM "LeaderboardDirtyCells" WHERE "AgentConfigurationId" = {config} AND "BugId" = {bug});
            """;

        /// <summary>Marks the cell of agent run <paramref name="runId"/> dirty (nothing when the run does not exist).</summary>
        private static string MarkRun(string runId) => $"""
            INSERT INTO "LeaderboardDirtyCells" ("AgentConfigurationId", "BugId")
            SELECT r."AgentConfigurationId", r."BugId" FROM "AgentRuns" r
            WHERE r."Id" = {runId}
              AND NOT EXISTS (SELECT 1 FROM "LeaderboardDirtyCells" d WHERE d."AgentConfigurationId" = r."AgentConfigurationId" AND d."BugId" = r."BugId");
            """;

        private static IEnumerable<string> TriggerSql()
        {
            yield return $"""
                CREATE TRIGGER "LeaderboardDirty_AgentRuns_Insert" AFTER INSERT ON "AgentRuns"
                BEGIN
                {MarkCell("NEW.\"AgentConfigurationId\"", "NEW.\"BugId\"")}
                END;
                """;
            yield return $"""
                CREATE TRIGGER "LeaderboardDirty_AgentRuns_Delete" AFTER DELETE ON "AgentRuns"
                BEGIN
                {MarkCell("OLD.\"AgentConfigurationId\"", "OLD.\"BugId\"")}
                END;
                """;
            yield return $"""
                CREATE TRIGGER "LeaderboardDirty_AgentRuns_Update" AFTER UPDATE OF "Id", "AgentConfigurationId", "BugId", "Batch", "RunIndex", "Status" ON "AgentRuns"
                BEGIN
                {MarkCell("OLD.\"AgentConfigurationId\"", "OLD.\"BugId\"")}
                {MarkCell("NEW.\"AgentConfigurationId\"", "NEW.\"BugId\"")}
                END;
                """;
            foreach (var (table, columns) in EvaluationTables)
            {
                yield return $"""
                    CREATE TRIGGER "LeaderboardDirty_{table}_Insert" AFTER INSERT ON "{table}"
                    BEGIN
                    {MarkRun("NEW.\"AgentRunId\"")}
                    END;
                    """;
                yield return $"""
                    CREATE TRIGGER "LeaderboardDirty_{table}_Delete" AFTER DELETE ON "{table}"
                    BEGIN
                    {MarkRun("OLD.\"AgentRunId\"")}
                    END;
                    """;
                yield return $"""
                    CREATE TRIGGER "LeaderboardDirty_{table}_Update" AFTER UPDATE OF {columns} ON "{table}"
                    BEGIN
                    {MarkRun("OLD.\"AgentRunId\"")}
                    {MarkRun("NEW.\"AgentRunId\"")}
                    END;
                    """;
            }
        }

        protected override void Down(MigrationBuilder migrationBuilder)
        {
            foreach (var name in TriggerNames)
            {
                migrationBuilder.Sql($"DROP TRIGGER IF EXISTS \"{name}\";");
            }

            migrationBuilder.DropTable(
                name: "LeaderboardCells");

            migrationBuilder.DropTable(
                name: "LeaderboardDirtyCells");
        }
    }
}
