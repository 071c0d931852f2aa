import ArgumentParser
import FokkerPlanck
import Foundation

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the validation cases in validation/cases against their closed forms.",
        discussion: "Exit status 1 when a case fails. CASE is a case name (file name without .toml) or a path."
    )

    @Argument(help: "Cases to run (default: all).")
    var cases: [String] = []

    @Flag(help: "Coarser resolutions, for a fast check.")
    var quick = false

    @Flag(help: "Print one JSON object instead of the table.")
    var json = false

    @Option(help: "The folder of case files (default: validation/cases of the working directory or of the fpsolve checkout).")
    var casesDirectory: String?

    func run() throws {
        let directory = try casesDirectory ?? Self.defaultDirectory()
        let files = try selectCases(in: directory)
        var results: [ValidationResult] = []
        for file in files {
            let validationCase = try ValidationCase(contentsOf: file)
            if !json { Terminal.progress("fpsolve validate: \(validationCase.name) …") }
            let result = try validationCase.run(quick: quick)
            results.append(result)
            if !json { print(report(result, description: validationCase.description)) }
        }
        let failed = results.filter { !$0.passed }.count
        if json {
            print(try jsonReport(results))
        } else {
            print("\(results.count - failed) passed, \(failed) failed")
        }
        if failed > 0 { throw ValidationFailed(message: "\(failed) validation case(s) failed") }
    }

    func selectCases(in directory: String) throws -> [String] {
        let all = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasSuffix(".toml") }.sorted().map { directory + "/" + $0 }
        if cases.isEmpty {
            guard !all.isEmpty else {
                throw FokkerPlanckError.badInput(file: directory, keyPath: nil, line: nil, message: "no validation cases (*.toml) here")
            }
            return all
        }
        return try cases.map { name in
            if FileManager.default.fileExists(atPath: name) { return name }
            if let match = all.first(where: { URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent == name }) { return match }
            let known = all.map { URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent }.joined(separator: ", ")
            throw FokkerPlanckError.badInput(file: nil, keyPath: nil, line: nil, message: "unknown validation case '\(name)'; known: \(known)")
        }
    }

    /// validation/cases under the working directory, else under the checkout that holds this
    /// executable (.build/<triple>/<config>/fpsolve).
    static func defaultDirectory() throws -> String {
        let local = FileManager.default.currentDirectoryPath + "/validation/cases"
        if FileManager.default.fileExists(atPath: local) { return local }
        if let executable = Bundle.main.executableURL?.resolvingSymlinksInPath() {
            var folder = executable.deletingLastPathComponent()
            for _ in 0..<5 {
                let candidate = folder.appendingPathComponent("validation/cases").path
                if FileManager.default.fileExists(atPath: candidate) { return candidate }
                folder = folder.deletingLastPathComponent()
            }
        }
        throw FokkerPlanckError.badInput(file: nil, keyPath: nil, line: nil,
                                         message: "cannot find validation/cases; run from the checkout or pass --cases-directory")
    }

    func report(_ result: ValidationResult, description: String) -> String {
        var lines = ["\(result.passed ? "PASS" : "FAIL")  \(result.name)  \(description)"]
        let names = result.runs.first?.errors.map(\.name) ?? []
        // A column is as wide as its name (at least 12): long field names do not run together.
        let widths = names.map { max(12, $0.count + 2) }
        func column(_ text: String, _ width: Int) -> String { text.padding(toLength: max(width, text.count + 1), withPad: " ", startingAt: 0) }
        lines.append("      " + (result.spectral ? "modes" : "cells").padding(toLength: 17, withPad: " ", startingAt: 0)
                     + zip(names, widths).map { column($0, $1) }.joined()
                     + ["estimate", "|mass−1|", "residual", "time"].map { column($0, 12) }.joined())
        for run in result.runs {
            let cells = run.cells.map(String.init).joined(separator: "×").padding(toLength: 17, withPad: " ", startingAt: 0)
            let values = zip(run.errors, widths + [Int](repeating: 12, count: max(0, run.errors.count - widths.count)))
                .map { column(String(format: "%.3e", $0.0.value), $0.1) }.joined()
                + (run.estimatedError.map { String(format: "%-12.3e", $0) } ?? "—".padding(toLength: 12, withPad: " ", startingAt: 0))
                + String(format: "%-12.1e", abs(run.mass - 1))
                + (run.residual.map { String(format: "%-12.1e", $0) } ?? "—".padding(toLength: 12, withPad: " ", startingAt: 0))
                + String(format: "%.2f s", run.seconds)
            lines.append("      " + cells + values)
        }
        for (field, orders) in result.orders.sorted(by: { $0.key < $1.key }) {
            lines.append("      observed order \(field): " + orders.map { String(format: "%.2f", $0) }.joined(separator: ", "))
        }
        for (field, factors) in result.decays.sorted(by: { $0.key < $1.key }) {
            lines.append("      error decay per step \(field): " + factors.map { String(format: "%.3g×", $0) }.joined(separator: ", "))
        }
        for failure in result.failures { lines.append("      ✗ " + failure) }
        return lines.joined(separator: "\n")
    }

    func jsonReport(_ results: [ValidationResult]) throws -> String {
        let cases: [[String: Any]] = results.map { result in
            [
                "name": result.name,
                "passed": result.passed,
                "failures": result.failures,
                "orders": result.orders,
                "decays": result.decays,
                "resolution": result.spectral ? "modes" : "cells",
                "runs": result.runs.map { run -> [String: Any] in
                    var entry: [String: Any] = [result.spectral ? "modes" : "cells": run.cells, "mass": run.mass, "seconds": run.seconds,
                                                "errors": Dictionary(uniqueKeysWithValues: run.errors.map { ($0.name, $0.value) })]
                    if let residual = run.residual { entry["residual"] = residual }
                    if let estimate = run.estimatedError { entry["estimated_error"] = estimate }
                    if let seconds = run.estimateSeconds { entry["estimate_seconds"] = seconds }
                    return entry
                },
            ]
        }
        let failed = results.filter { !$0.passed }.count
        let object: [String: Any] = ["passed": results.count - failed, "failed": failed, "cases": cases]
        return try jsonText(object)
    }
}
