/// A place in a rules file, 1-based, columns counted in Unicode scalars.
public struct SourcePosition: Sendable, Equatable, Codable {
    public var line: Int
    public var column: Int
    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }
}
