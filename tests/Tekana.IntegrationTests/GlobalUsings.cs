global using Tekana.IntegrationTests.Infrastructure;
global using Tekana.Testing;
