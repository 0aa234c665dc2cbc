global using Tekana.IntegrationTests.Infrastructure;
