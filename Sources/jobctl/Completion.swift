import ArgumentParser

/// `jobctl completion SHELL`: the shell completion script, generated from the commands' definitions.
struct Completion: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "completion",
        _superCommandName: Jobctl.name,
        abstract: "Print the shell completion script for bash, zsh or fish.",
        discussion: """
            bash: jobctl completion bash > /etc/bash_completion.d/jobctl (or source it from ~/.bashrc). \
            zsh: jobctl completion zsh > "${fpath[1]}/_jobctl". \
            fish: jobctl completion fish > ~/.config/fish/completions/jobctl.fish.
            """)

    @Argument(help: ArgumentHelp("bash, zsh or fish.", valueName: "shell"))
    var shell: String

    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        guard CompletionShell(rawValue: shell) != nil else {
            throw ValidationError("'\(shell)' is not a shell jobctl has completions for; use one of: "
                + CompletionShell.allCases.map(\.rawValue).joined(separator: ", "))
        }
    }

    func run() {
        guard let shell = CompletionShell(rawValue: shell) else { return }
        print(Jobctl.completionScript(for: shell))
    }
}
