namespace Vigil.Evaluation.Tests;
