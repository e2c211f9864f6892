using System.Security.Cryptography;
using System.Text.Json;

namespace Vigil.Detectors;

/// <summary>
/// The public keys a bundle must be signed by (<c>VIGIL_TRUSTED_KEYS</c>): ECDSA P-256 keys read from PEM
/// (<c>-----BEGIN PUBLIC KEY-----</c>, SubjectPublicKeyInfo), each known by its key id, the lower-case hex SHA-256 of
/// its SubjectPublicKeyInfo bytes. A bundle is accepted when its <c>signature.json</c> verifies under one of them.
/// </summary>
public sealed class BundleTrust
{
    private readonly Dictionary<string, byte[]> _keys;

    private BundleTrust(string source, Dictionary<string, byte[]> keys)
    {
        Source = source;
        _keys = keys;
    }

    /// <summary>Where the keys were read from (a file or folder), for messages.</summary>
    public string Source { get; }

    /// <summary>The key ids of the trusted keys.</summary>
    public IReadOnlyCollection<string> KeyIds => _keys.Keys;

    /// <summary>
    /// Reads the trusted public keys from <paramref name="path"/>: a PEM file (one or more public keys) or a folder whose
    /// <c>*.pem</c> files each hold one or more. <paramref name="setting"/> names the setting in errors.
    /// </summary>
    /// <exception cref="BundleSettingsException">The path does not exist, holds no public key, or holds a key that is not ECDSA P-256.</exception>
    public static BundleTrust Load(string path, string setting = BundleLoadOptions.TrustedKeysVariable)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string[] files;
        if (Directory.Exists(path))
        {
            files = Directory.GetFiles(path, "*.pem");
            Array.Sort(files, StringComparer.Ordinal);
        }
        else if (File.Exists(path))
        {
            files = [path];
        }
        else
        {
            throw new BundleSettingsException($"{setting}={path}: no such file or folder of PEM public keys");
        }

        var keys = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            string text;
            try
            {
                text = File.ReadAllText(file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new BundleSettingsException($"{setting}: cannot read {file}: {e.Message}", e);
            }

            var rest = text.AsSpan();
            while (PemEncoding.TryFind(rest, out var fields))
            {
                var label = rest[fields.Label];
                if (!label.SequenceEqual("PUBLIC KEY"))
                {
                    throw new BundleSettingsException(
                        $"{setting}: {file} holds a '{label}' block; a trust list holds public keys only (-----BEGIN PUBLIC KEY-----, as 'vigil models keygen' writes them)");
                }

                var spki = Convert.FromBase64String(rest[fields.Base64Data].ToString());
                using (BundleSigner.ImportPublicKey(spki, $"{setting}: {file}"))
                {
                    keys[KeyId(spki)] = spki;
                }

                rest = rest[fields.Location.End..];
            }
        }

        if (keys.Count == 0)
        {
            throw new BundleSettingsException($"{setting}={path}: holds no PEM public key (-----BEGIN PUBLIC KEY-----)");
        }

        return new BundleTrust(path, keys);
    }

    /// <summary>The key id of a SubjectPublicKeyInfo: its lower-case hex SHA-256.</summary>
    public static string KeyId(ReadOnlySpan<byte> subjectPublicKeyInfo) => Convert.ToHexStringLower(SHA256.HashData(subjectPublicKeyInfo));

    /// <summary>
    /// Checks that <paramref name="signatureFile"/> (the bytes of <c>signature.json</c>, or null when the bundle has none)
    /// is a signature of exactly <paramref name="manifestBytes"/> by one of these keys.
    /// </summary>
    /// <exception cref="BundleException">Unsigned, signed by a key that is not trusted, or the signature does not verify.</exception>
    internal void Verify(string bundlePath, byte[] manifestBytes, byte[]? signatureFile)
    {
        const string File = ModelBundle.SignatureFile;
        if (signatureFile is null)
        {
            throw new BundleException(bundlePath, File,
                $"the bundle is unsigned ({File} is missing) and trusted keys are configured ({BundleLoadOptions.TrustedKeysVariable}={Source}); sign it with 'vigil models sign'");
        }

        var signature = BundleSignatureDocument.Parse(bundlePath, signatureFile);
        foreach (var (id, spki) in _keys)
        {
            using var key = BundleSigner.ImportPublicKey(spki, id);
            if (key.VerifyData(manifestBytes, signature.Signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation))
            {
                return;
            }
        }

        if (_keys.ContainsKey(signature.KeyId))
        {
            throw new BundleException(bundlePath, File,
                $"the signature does not verify with trusted key {signature.KeyId}: {ModelBundle.ManifestFile} (or a file it lists) was changed after signing, or {File} is corrupt");
        }

        throw new BundleException(bundlePath, File,
            $"the bundle is signed by key {signature.KeyId}, which is not a trusted key ({BundleLoadOptions.TrustedKeysVariable}={Source} holds {string.Join(", ", _keys.Keys)})");
    }
}

/// <summary>
/// Signs bundles and makes signing keys, with ECDSA P-256 and SHA-256 from .NET's own cryptography. The signature
/// covers the exact bytes of <c>bundle.json</c>, which lists the size and SHA-256 of every other file, so changing any
/// file (or the manifest) breaks it. It is stored in the bundle as <c>signature.json</c>:
/// <c>{"format": "vigil-bundle-signature/1", "algorithm": "ecdsa-p256-sha256", "keyId": ..., "manifestSha256": ..., "signature": base64 (IEEE P1363 r‖s)}</c>.
/// </summary>
public static class BundleSigner
{
    /// <summary>The <c>format</c> of <c>signature.json</c>.</summary>
    public const string Format = "vigil-bundle-signature/1";

    /// <summary>The signature algorithm.</summary>
    public const string Algorithm = "ecdsa-p256-sha256";

    /// <summary>The private key file <see cref="GenerateKeyPair"/> writes.</summary>
    public const string PrivateKeyFile = "vigil-signing-key.pem";

    /// <summary>The public key file <see cref="GenerateKeyPair"/> writes.</summary>
    public const string PublicKeyFile = "vigil-signing-key.pub.pem";

    private const string P256Oid = "1.2.840.10045.3.1.7";

    /// <summary>
    /// Makes a new ECDSA P-256 key pair in <paramref name="folder"/> (created if needed): <see cref="PrivateKeyFile"/>
    /// (PKCS#8 PEM, readable by the owner only where the platform allows) and <see cref="PublicKeyFile"/>
    /// (SubjectPublicKeyInfo PEM, for <c>VIGIL_TRUSTED_KEYS</c>). Refuses to replace existing key files.
    /// </summary>
    /// <returns>The private key path, the public key path and the key id.</returns>
    /// <exception cref="BundleSettingsException">A key file already exists there.</exception>
    public static (string PrivateKey, string PublicKey, string KeyId) GenerateKeyPair(string folder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        var privatePath = Path.Combine(folder, PrivateKeyFile);
        var publicPath = Path.Combine(folder, PublicKeyFile);
        foreach (var existing in (string[])[privatePath, publicPath])
        {
            if (File.Exists(existing))
            {
                throw new BundleSettingsException($"{existing}: a key file already exists; Vigil never replaces a key (choose another --out)");
            }
        }

        Directory.CreateDirectory(folder);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var spki = key.ExportSubjectPublicKeyInfo();
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(privatePath, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(key.ExportPkcs8PrivateKeyPem());
            writer.Write('\n');
        }

        File.WriteAllText(publicPath, key.ExportSubjectPublicKeyInfoPem() + "\n");
        return (privatePath, publicPath, BundleTrust.KeyId(spki));
    }

    /// <summary>Reads an ECDSA P-256 private key from a PEM file (PKCS#8 <c>PRIVATE KEY</c> or SEC1 <c>EC PRIVATE KEY</c>, unencrypted).</summary>
    /// <exception cref="BundleSettingsException">The file is missing, not a PEM private key, or not P-256.</exception>
    public static ECDsa ReadPrivateKey(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path))
        {
            throw new BundleSettingsException($"{path}: signing key file not found");
        }

        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(File.ReadAllText(path));
            if (key.ExportParameters(false).Curve.Oid?.Value != P256Oid)
            {
                throw new BundleSettingsException($"{path}: the key is not on curve P-256; make one with 'vigil models keygen'");
            }

            _ = key.ExportParameters(includePrivateParameters: true);
            return key;
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
            key.Dispose();
            throw new BundleSettingsException($"{path}: not an unencrypted ECDSA P-256 private key in PEM ({e.Message}); make one with 'vigil models keygen'", e);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Signs the bundle at <paramref name="bundlePath"/> (directory or zip) in place with <paramref name="key"/>: checks
    /// that every file matches the manifest, then writes <c>signature.json</c> (replacing an earlier signature) through
    /// a temporary file renamed into place.
    /// </summary>
    /// <returns>The key id of the signing key.</returns>
    /// <exception cref="BundleException">The bundle cannot be read or does not verify.</exception>
    public static string Sign(string bundlePath, ECDsa key)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(bundlePath);
        ArgumentNullException.ThrowIfNull(key);

        // Only a bundle whose files match its manifest is signed: load it (caps and hashes, no signature required).
        _ = BundleReader.Load(bundlePath, BundleLoadOptions.Default with { TrustedKeys = null });
        byte[] manifest;
        using (var source = BundleSource.Open(bundlePath))
        {
            manifest = source.Read(ModelBundle.ManifestFile, BundleReader.MaxManifestBytes)
                ?? throw new BundleException(bundlePath, ModelBundle.ManifestFile, $"{ModelBundle.ManifestFile} is missing; this is not a model bundle");
        }

        var spki = key.ExportSubjectPublicKeyInfo();
        var keyId = BundleTrust.KeyId(spki);
        var signature = SignatureDocument(keyId, manifest, key.SignData(manifest, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));
        try
        {
            if (Directory.Exists(bundlePath))
            {
                var target = Path.Combine(bundlePath, ModelBundle.SignatureFile);
                var temp = Path.Combine(bundlePath, $".{ModelBundle.SignatureFile}.tmp-{Guid.NewGuid():N}");
                File.WriteAllBytes(temp, signature);
                File.Move(temp, target, overwrite: true);
            }
            else
            {
                var full = Path.GetFullPath(bundlePath);
                var temp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.tmp-{Guid.NewGuid():N}");
                try
                {
                    File.Copy(full, temp);
                    using (var zip = System.IO.Compression.ZipFile.Open(temp, System.IO.Compression.ZipArchiveMode.Update))
                    {
                        zip.GetEntry(ModelBundle.SignatureFile)?.Delete();
                        using var entry = zip.CreateEntry(ModelBundle.SignatureFile).Open();
                        entry.Write(signature);
                    }

                    File.Move(temp, full, overwrite: true);
                }
                finally
                {
                    File.Delete(temp);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new BundleException(bundlePath, ModelBundle.SignatureFile, $"cannot write {ModelBundle.SignatureFile}: {e.Message}", e);
        }

        return keyId;
    }

    /// <summary>The bytes of <c>signature.json</c> for <paramref name="signature"/> of <paramref name="manifest"/>.</summary>
    internal static byte[] SignatureDocument(string keyId, byte[] manifest, byte[] signature)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("format", Format);
            json.WriteString("algorithm", Algorithm);
            json.WriteString("keyId", keyId);
            json.WriteString("manifestSha256", Convert.ToHexStringLower(SHA256.HashData(manifest)));
            json.WriteString("signature", Convert.ToBase64String(signature));
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>An ECDSA key from SubjectPublicKeyInfo bytes, checked to be P-256; <paramref name="what"/> names it in errors.</summary>
    internal static ECDsa ImportPublicKey(byte[] spki, string what)
    {
        var key = ECDsa.Create();
        try
        {
            key.ImportSubjectPublicKeyInfo(spki, out _);
            if (key.ExportParameters(false).Curve.Oid?.Value != P256Oid)
            {
                throw new BundleSettingsException($"{what}: the public key is not ECDSA P-256");
            }

            return key;
        }
        catch (CryptographicException e)
        {
            key.Dispose();
            throw new BundleSettingsException($"{what}: not an ECDSA P-256 public key ({e.Message})", e);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }
}

/// <summary>The parsed <c>signature.json</c>.</summary>
internal sealed record BundleSignatureDocument(string KeyId, byte[] Signature)
{
    public const long MaxBytes = 64 << 10;

    public static BundleSignatureDocument Parse(string bundlePath, byte[] bytes)
    {
        const string File = ModelBundle.SignatureFile;
        try
        {
            using var doc = JsonDocument.Parse(bytes);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("format", out var format) || format.GetString() != BundleSigner.Format
                || !root.TryGetProperty("algorithm", out var algorithm) || algorithm.GetString() != BundleSigner.Algorithm
                || !root.TryGetProperty("keyId", out var keyId) || keyId.GetString() is not { Length: > 0 } id
                || !root.TryGetProperty("signature", out var signature) || signature.ValueKind != JsonValueKind.String)
            {
                throw new BundleException(bundlePath, File,
                    $"{File} is not a '{BundleSigner.Format}' signature with algorithm '{BundleSigner.Algorithm}', keyId and signature");
            }

            return new BundleSignatureDocument(id, signature.GetBytesFromBase64());
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            throw new BundleException(bundlePath, File, $"{File} is malformed ({e.Message})", e);
        }
    }
}
