import ArgumentParser
import FokkerPlanck
import Foundation

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what an output file holds: datasets, parameters and diagnostics."
    )

    @Argument(help: "An HDF5 file written by fpsolve.")
    var file: String

    @Flag(help: "Also print the full problem text stored in the file.")
    var problem = false

    func run() throws {
        let summary: OutputSummary
        do {
            summary = try OutputSummary(contentsOf: file)
        } catch let error as FokkerPlanckError {
            // An unreadable or missing file is bad input to this command.
            throw FokkerPlanckError.badInput(file: nil, keyPath: nil, line: nil, message: error.description)
        }
        print(summary.path.printable)
        if let title = summary.attribute("title") { print("  title: \(title.description.printable)") }
        print("datasets:")
        let width = summary.datasets.map(\.name.count).max() ?? 0
        for dataset in summary.datasets {
            let shape = "(" + dataset.shape.map(String.init).joined(separator: ", ") + ")"
            let name = dataset.name.padding(toLength: width, withPad: " ", startingAt: 0)
            print("  \(name.printable)  \(shape.padding(toLength: 18, withPad: " ", startingAt: 0))  \((dataset.longName ?? "").printable)")
        }
        print("attributes:")
        for (key, value) in summary.attributes where key != "problem" && !key.hasPrefix("_") {
            print("  \(key.printable) = \(value.description.printable)")
        }
        if let text = summary.attribute("problem") {
            if problem {
                print("problem:")
                print(text.description.printable.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n"))
            } else {
                print("  problem = (\(text.description.count) characters; --problem prints it)")
            }
        }
    }
}
