return await Vigil.Cli.CliApp.RunAsync(args).ConfigureAwait(false);
