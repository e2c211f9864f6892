// The ceiling of the host for eng/bench-serve.sh: the same minimal-API host, Kestrel and logging level as
// `vigil serve`, answering POST /v1/predict with a fixed small JSON body without reading the request or scoring.
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

var port = args.Length > 0 ? args[0] : "8090";
var builder = WebApplication.CreateSlimBuilder(args);
builder.WebHost.UseKestrel(k => k.AddServerHeader = false);
builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
builder.Logging.ClearProviders();
var app = builder.Build();
var body = "{\"model\":\"ceiling\",\"version\":1,\"predictions\":[{\"score\":0.5,\"label\":0,\"reasons\":[],\"status\":200}]}"u8.ToArray();
app.MapPost("/v1/predict", (HttpContext context) =>
{
    context.Response.ContentType = "application/json";
    context.Response.ContentLength = body.Length;
    return context.Response.Body.WriteAsync(body).AsTask();
});
app.MapGet("/livez", () => Results.Text("{\"status\":\"live\"}", "application/json"));
app.Run();
