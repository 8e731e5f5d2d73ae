using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace LiveKBench.Arena.Store.Migrations
{
    /// <inheritdoc />
    public partial class DefinitionIou : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "ModifiedDefinitions",
                table: "Patches",
                type: "TEXT",
                nullable: true);

            // The leaderboard reads FunctionIouMeasured and DefinitionIou now: their updates must mark the cell dirty.
            migrationBuilder.Sql("DROP TRIGGER IF EXISTS \"LeaderboardDirty_LocalizationEvaluations_Update\";");
            migrationBuilder.Sql(UpdateTrigger("\"AgentRunId\", \"Status\", \"FileIou\", \"FunctionIou\", \"FunctionIouMeasured\", \"DefinitionIou\""));

            // Cell format 2 (definition IoU per run, NaN for an IoU not measured): every cell is recomputed on the next query.
            migrationBuilder.Sql("DELETE FROM \"LeaderboardCells\";");
            migrationBuilder.Sql(MarkAllRuns);
        }

        /// <summary>Marks the cell of every (configuration, bug) with runs dirty, unless it already is.</summary>
        private const string MarkAllRuns = """
            INSERT INTO "LeaderboardDirtyCells" ("AgentConfigurationId", "BugId")
            SELECT DISTINCT r."AgentConfigurationId", r."BugId" FROM "AgentRuns" r
            WHERE NOT EXISTS (SELECT 1 FROM "LeaderboardDirtyCells" d WHERE d."AgentConfigurationId" = r."AgentConfigurationId" AND d."BugId" = r."BugId");
            """;

        /// <summary>The UPDATE trigger of LocalizationEvaluations over <paramref name="columns"/> (as migration LeaderboardCells writes it).</summary>
        private static string UpdateTrigger(string columns) => $"""
            CREATE TRIGGER "LeaderboardDirty_LocalizationEvaluations_Update" AFTER UPDATE OF {columns} ON "LocalizationEvaluations"
            BEGIN
            {MarkRun("OLD.\"AgentRunId\"")}
            {MarkRun("NEW.\"AgentRunId\"")}
            END;
            """;

        private static string MarkRun(string runId) => $"""
            INSERT INTO "LeaderboardDirtyCells" ("AgentConfigurationId", "BugId")
            SELECT r."AgentConfigurationId", r."BugId" FROM "AgentRuns" r
            WHERE r."Id" = {runId}
              AND NOT EXISTS (SELECT 1 FROM "LeaderboardDirtyCells" d WHERE d."AgentConfigurationId" = r."AgentConfigurationId" AND d."BugId" = r."BugId");
            """;

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("DROP TRIGGER IF EXISTS \"LeaderboardDirty_LocalizationEvaluations_Update\";");
            migrationBuilder.Sql(UpdateTrigger("\"AgentRunId\", \"Status\", \"FileIou\", \"FunctionIou\""));
            migrationBuilder.Sql("DELETE FROM \"LeaderboardCells\";");
            migrationBuilder.Sql(MarkAllRuns);

            migrationBuilder.DropColumn(
                name: "ModifiedDefinitions",
                table: "Patches");
        }
    }
}
