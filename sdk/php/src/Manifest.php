<?php

declare(strict_types=1);

namespace Nexo\Plugin\Sdk;

/** Reads a plugin manifest (`nexo-plugin.toml`) with the SDK's own TOML reader; no extension or Composer package needed. */
final class Manifest
{
    /** The plugin id rule of the contract. */
    public const ID_PATTERN = '/^[a-z][a-z0-9_]{0,31}$/';

    /**
     * Parse manifest text into arrays. Throws ManifestError when it is not TOML, has
     * no `[plugin].id`, or the id breaks the id rule.
     *
     * @example $id = Manifest::parse(file_get_contents(__DIR__ . '/nexo-plugin.toml'))['plugin']['id'];
     * @return array<string, mixed>
     */
    public static function parse(string $toml): array
    {
        return Toml::toArray(self::parseJson($toml));
    }

    /** @internal the manifest with tables as \stdClass, as it is sent in `initialize` */
    public static function parseJson(string $toml): \stdClass
    {
        try {
            $json = Toml::parse($toml);
        } catch (TomlException $e) {
            throw new ManifestError("manifest is not valid TOML: {$e->getMessage()}", 0, $e);
        }
        $plugin = $json->plugin ?? null;
        if (!$plugin instanceof \stdClass || !is_string($plugin->id ?? null) || $plugin->id === '') {
            throw new ManifestError('manifest has no [plugin].id');
        }
        if (preg_match(self::ID_PATTERN, $plugin->id) !== 1) {
            throw new ManifestError("manifest [plugin].id '{$plugin->id}' must match ^[a-z][a-z0-9_]{0,31}$");
        }
        return $json;
    }
}
