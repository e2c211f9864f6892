namespace Vigil.Detectors;

/// <summary>The activation function of a dense autoencoder layer.</summary>
public enum Activation
{
    /// <summary><c>max(0, x)</c>.</summary>
    Relu,

    /// <summary><c>tanh(x)</c>.</summary>
    Tanh,

    /// <summary><c>1 / (1 + e^-x)</c>.</summary>
    Sigmoid,

    /// <summary>The identity.</summary>
    Linear,
}
