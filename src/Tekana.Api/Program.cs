using Tekana.Api.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddTekanaApi();
var app = builder.Build();
app.UseTekanaApi();
app.Run();

/// <summary>The API's entry point, visible to functional tests.</summary>
public partial class Program;
