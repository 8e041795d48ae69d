import Foundation

/// What every daemon config loader does first: read a JSON5 file, decode it, and resolve the paths
/// written in it against the file's own folder (so `data: "state"` means next to the config).
public struct ConfigFile: Sendable {
    public let source: JSON5Source
    public let base: URL

    /// Reads and decodes `file`; errors name the file, line and field.
    public static func decode<T: Decodable>(_ type: T.Type, file: String) throws(ConfigErrors) -> (T, ConfigFile) {
        let source: JSON5Source
        do { source = try JSON5Source(file: file) } catch { throw ConfigErrors([error]) }
        let value: T
        do { value = try source.decode(type) } catch { throw ConfigErrors([error]) }
        return (value, ConfigFile(source: source, base: URL(fileURLWithPath: file).deletingLastPathComponent()))
    }

    /// An absolute path stays; a relative one is taken from the config file's folder.
    public func resolve(_ path: String?) -> String? {
        guard let path else { return nil }
        return path.hasPrefix("/") ? path : base.appendingPathComponent(path).standardizedFileURL.path
    }

    /// Ids that become MQTT topic segments (edge id, office id) must not contain `/`, `+` or `#`.
    public static func isTopicSegment(_ id: String) -> Bool {
        !id.isEmpty && !id.contains("/") && !id.contains("+") && !id.contains("#")
    }
}
