/// The operators shared by the engine's hot loop and constant folding. Values are Doubles:
/// conditions are 1/0, state codes are `DetectorState.code` (-1 = none yet), a missing number is NaN
/// (every comparison with NaN is false, so a condition on a value not yet seen does not hold).
enum RuleInterpreter {
    @inline(__always)
    static func apply(_ op: RuleInstruction.Op, _ a: Double, _ b: Double) -> Double {
        switch op {
        case .add: a + b
        case .sub: a - b
        case .mul: a * b
        case .div: a / b
        case .lt: a < b ? 1 : 0
        case .le: a <= b ? 1 : 0
        case .gt: a > b ? 1 : 0
        case .ge: a >= b ? 1 : 0
        case .eq: a == b ? 1 : 0
        case .ne: a != b ? 1 : 0
        case .and: (a != 0 && b != 0) ? 1 : 0
        case .or: (a != 0 || b != 0) ? 1 : 0
        default: .nan
        }
    }

    @inline(__always)
    static func apply(_ op: RuleInstruction.Op, _ a: Double) -> Double {
        switch op {
        case .abs: Swift.abs(a)
        case .negate: -a
        case .not: a != 0 ? 0 : 1
        default: a
        }
    }

    /// Runs a program that reads no channel: literals and device constants.
    /// `setpoint(index, default)` and `cable(default)` resolve the device's registered values.
    static func evaluateConstant(_ code: [RuleInstruction], stack: inout [Double],
                                 setpoint: (Int, Double) -> Double = { $1 }, cable: (Double) -> Double = { $0 }) {
        stack.removeAll(keepingCapacity: true)
        for i in code {
            switch i.op {
            case .constant: stack.append(i.imm)
            case .setpoint: stack.append(setpoint(Int(i.a), stack.removeLast()))
            case .cableRated: stack.append(cable(stack.removeLast()))
            case .abs, .negate, .not: stack.append(apply(i.op, stack.removeLast()))
            case .add, .sub, .mul, .div, .lt, .le, .gt, .ge, .eq, .ne, .and, .or:
                let b = stack.removeLast()
                let a = stack.removeLast()
                stack.append(apply(i.op, a, b))
            default:
                stack.append(.nan)
            }
        }
    }
}
