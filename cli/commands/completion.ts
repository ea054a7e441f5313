/** `boatload completion bash|zsh`: a completion script built from the command tree itself. */
import type { Command } from 'commander';
import { CliError } from '../errors';
import { examples } from './common';

function words(command: Command): { verbs: string[]; options: string[] } {
  return {
    verbs: command.commands.flatMap((c) => [c.name(), ...c.aliases()]),
    options: [...command.options.map((o) => o.long ?? o.short ?? '').filter(Boolean), '--help'],
  };
}

export function bashScript(program: Command): string {
  const top = words(program);
  const cases = program.commands.flatMap((command) => {
    const own = words(command);
    return [command.name(), ...command.aliases()].map((name) => `    ${name}) opts="${[...own.verbs, ...own.options].join(' ')}" ;;`);
  });
  return `# boatload bash completion: eval "$(boatload completion bash)"
_boatload() {
  local cur verb opts
  cur="\${COMP_WORDS[COMP_CWORD]}"
  verb=""
  local i
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in
      --profile) ((i++)) ;;
      -*) ;;
      *) verb="\${COMP_WORDS[i]}"; break ;;
    esac
  done
  case "$verb" in
    "") opts="${[...top.verbs, ...top.options].join(' ')}" ;;
${cases.join('\n')}
    *) opts="" ;;
  esac
  COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  if [ \${#COMPREPLY[@]} -eq 0 ]; then COMPREPLY=($(compgen -f -- "$cur")); fi
}
complete -o default -F _boatload boatload
`;
}

export function zshScript(program: Command): string {
  return `#compdef boatload
# boatload zsh completion: eval "$(boatload completion zsh)"
autoload -U +X bashcompinit && bashcompinit
${bashScript(program)}`;
}

export function registerCompletion(program: Command): void {
  examples(
    program
      .command('completion')
      .description('Print a shell completion script')
      .argument('<shell>', 'bash or zsh')
      .action((shell: string) => {
        if (shell === 'bash') process.stdout.write(bashScript(program));
        else if (shell === 'zsh') process.stdout.write(zshScript(program));
        else throw new CliError(`No completion for ${shell}: bash or zsh.`, 2);
      }),
    ['eval "$(boatload completion bash)"    # in ~/.bashrc', 'eval "$(boatload completion zsh)"     # in ~/.zshrc'],
  );
}
