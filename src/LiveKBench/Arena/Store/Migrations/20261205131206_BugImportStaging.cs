using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace LiveKBench.Arena.Store.Migrations
{
    /// <inheritdoc />
    public partial class BugImportStaging : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "ImportId",
                table: "Bugs",
                type: "TEXT",
                nullable: true);

            migrationBuilder.CreateIndex(
                name: "IX_Bugs_ImportId",
                table: "Bugs",
                column: "ImportId");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_Bugs_ImportId",
                table: "Bugs");

            migrationBuilder.DropColumn(
                name: "ImportId",
                table: "Bugs");
        }
    }
}
