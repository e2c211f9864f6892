namespace Vigil.Detectors.Tests;
