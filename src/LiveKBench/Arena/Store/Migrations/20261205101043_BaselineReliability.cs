using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace LiveKBench.Arena.Store.Migrations
{
    public partial class BaselineReliability : Migration
    {
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<double>(
                name: "DefinitionIou",
                table: "LocalizationEvaluations",
                type: "REAL",
                nullable: true);

            migrationBuilder.AddColumn<bool>(
                name: "FunctionIouMeasured",
                table: "LocalizationEvaluations",
                type: "INTEGER",
                nullable: false,
                defaultValue: true);

            migrationBuilder.AddColumn<int>(
                name: "BaselineCrashes",
                table: "KcacheEntries",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "BaselineInstances",
                table: "KcacheEntries",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<double>(
                name: "ReproductionRateHigh",
                table: "KcacheEntries",
                type: "REAL",
                nullable: true);

            migrationBuilder.AddColumn<double>(
                name: "ReproductionRateLow",
                table: "KcacheEntries",
                type: "REAL",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "RequiredCleanRuns",
                table: "KcacheEntries",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<double>(
                name: "FalseFixBound",
                table: "CrashResolutionEvaluations",
                type: "REAL",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "InstancesRun",
                table: "CrashResolutionEvaluations",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "AltTitles",
                table: "Bugs",
                type: "TEXT",
                nullable: false,
                defaultValue: "[]");
        }

        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "DefinitionIou",
                table: "LocalizationEvaluations");

            migrationBuilder.DropColumn(
                name: "FunctionIouMeasured",
                table: "LocalizationEvaluations");

            migrationBuilder.DropColumn(
                name: "BaselineCrashes",
                table: "KcacheEntries");

            migrationBuilder.DropColumn(
                name: "BaselineInstances",
                table: "KcacheEntries");

            migrationBuilder.DropColumn(
                name: "ReproductionRateHigh",
                table: "KcacheEntries");

            migrationBuilder.DropColumn(
                name: "ReproductionRateLow",
                table: "KcacheEntries");

            migrationBuilder.DropColumn(
                name: "RequiredCleanRuns",
                table: "KcacheEntries");

            migrationBuilder.DropColumn(
                name: "FalseFixBound",
                table: "CrashResolutionEvaluations");

            migrationBuilder.DropColumn(
                name: "InstancesRun",
                table: "CrashResolutionEvaluations");

            migrationBuilder.DropColumn(
                name: "AltTitles",
                table: "Bugs");
        }
    }
}
