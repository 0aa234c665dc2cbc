using Microsoft.Extensions.Hosting;
using Tekana.Grains.Hosting;

var builder = Host.CreateApplicationBuilder(args);
builder.UseOrleans(silo => silo.AddTekana(builder.Configuration));
await builder.Build().RunAsync();
