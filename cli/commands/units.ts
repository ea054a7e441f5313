/** `boatload units ...`: the fleet unit API with fleetctl-like output (admins). */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { UnitOption, UnitState } from '../../client';
import { parseUnitFile, serializeUnit, UnitFileError } from '../../units/unit-file';
import { CliError } from '../errors';
import { printJson, printTable } from '../output';
import { contextOf, examples, wantsJson, withJson } from './common';

/** A unit file's options, parsed as the API and systemd parse them; a bad file names its line. */
function readUnitFile(file: string): UnitOption[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`Cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let options: UnitOption[];
  try {
    options = parseUnitFile(text);
  } catch (err) {
    if (err instanceof UnitFileError) throw new CliError(`${file}: ${err.message}`);
    throw err;
  }
  if (!options.length) throw new CliError(`${file}: no options: is it a unit file?`);
  return options;
}

function machineColumn(machineID: string | undefined, states: UnitState[]): string {
  const state = states[0];
  const id = machineID || state?.machineID;
  return id ? `${id.slice(0, 8)}...` : '-';
}

export function registerUnits(program: Command): void {
  const units = program.command('units').description('Unit files on the cluster (the fleet API; admins): list, submit, start, stop, destroy, cat, status');

  examples(
    withJson(units.command('list').alias('list-units').description('Units and their states, like fleetctl list-units')).action(async (_options: unknown, command: Command) => {
      const client = contextOf(command).client();
      const [list, states] = await Promise.all([client.listUnits(), client.unitStates()]);
      if (wantsJson(command)) return printJson({ units: list, states });
      printTable(
        ['UNIT', 'MACHINE', 'DESIRED', 'CURRENT', 'ACTIVE', 'SUB'],
        list.map((unit) => {
          const own = states.filter((s) => s.name === unit.name);
          return [unit.name, machineColumn(unit.machineID, own), unit.desiredState, unit.currentState, own[0]?.systemdActiveState ?? '-', own[0]?.systemdSubState ?? '-'];
        }),
      );
    }),
    ['boatload units list', 'boatload units list --json'],
  );

  examples(
    units
      .command('submit')
      .description('Submit unit files (inactive until started)')
      .argument('<files...>', 'unit files, e.g. web.service')
      .action(async (files: string[], _options: unknown, command: Command) => {
        const client = contextOf(command).client();
        for (const file of files) {
          const name = basename(file);
          await client.putUnit(name, { options: readUnitFile(file), desiredState: 'inactive' });
          process.stdout.write(`Unit ${name} submitted\n`);
        }
      }),
    ['boatload units submit hello.service'],
  );

  const desired = [
    ['start', 'launched', 'Start units (launched)'],
    ['load', 'loaded', 'Load units: container created, not started'],
    ['stop', 'loaded', 'Stop units (back to loaded)'],
    ['unload', 'inactive', 'Unload units (inactive: no container)'],
  ] as const;
  for (const [verb, state, description] of desired) {
    examples(
      units
        .command(verb)
        .description(description)
        .argument('<names...>', 'unit names')
        .action(async (names: string[], _options: unknown, command: Command) => {
          const client = contextOf(command).client();
          for (const name of names) {
            await client.putUnit(name, { desiredState: state });
            process.stdout.write(`Unit ${name} ${state}\n`);
          }
        }),
      [`boatload units ${verb} hello.service`],
    );
  }

  examples(
    units
      .command('destroy')
      .description('Destroy units (and their containers)')
      .argument('<names...>', 'unit names')
      .action(async (names: string[], _options: unknown, command: Command) => {
        const client = contextOf(command).client();
        for (const name of names) {
          await client.deleteUnit(name);
          process.stdout.write(`Destroyed ${name}\n`);
        }
      }),
    ['boatload units destroy hello.service'],
  );

  examples(
    withJson(units.command('cat').description('A unit file as submitted').argument('<name>', 'unit name')).action(async (name: string, _options: unknown, command: Command) => {
      const unit = await contextOf(command).client().getUnit(name);
      if (wantsJson(command)) return printJson(unit);
      process.stdout.write(serializeUnit(unit.options));
    }),
    ['boatload units cat hello.service'],
  );

  examples(
    withJson(units.command('status').description("A unit's desired and current state, and its systemd-style state").argument('<name>', 'unit name')).action(async (name: string, _options: unknown, command: Command) => {
      const client = contextOf(command).client();
      const [unit, states] = await Promise.all([client.getUnit(name), client.unitStates({ unitName: name })]);
      if (wantsJson(command)) return printJson({ unit, states });
      const state = states[0];
      const lines = [
        `● ${unit.name}`,
        `   Desired: ${unit.desiredState}`,
        `   Current: ${unit.currentState}`,
        `   Machine: ${unit.machineID || state?.machineID || '-'}`,
        `    Active: ${state ? `${state.systemdActiveState} (${state.systemdSubState})` : '-'}`,
        `    Loaded: ${state?.systemdLoadState ?? '-'}`,
      ];
      if (unit.reason) lines.push(`    Reason: ${unit.reason}`);
      process.stdout.write(lines.join('\n') + '\n');
    }),
    ['boatload units status hello.service'],
  );
}
