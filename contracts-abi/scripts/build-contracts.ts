// Compiles contracts/*.sol with the pinned npm solc (optimizer on, cancun) and writes committed JSON artifacts.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(packageRoot, 'package.json'));
// solc has no types; its wrapper exposes version() and compile(inputJson, { import }).
const solc = require('solc') as {
  version(): string;
  compile(input: string, callbacks: { import: (path: string) => { contents: string } | { error: string } }): string;
};

/** Contracts whose artifacts are written (libraries and OpenZeppelin bases are inlined into them). */
export const CONTRACT_NAMES = ['GridToken', 'RewardToken', 'EnergyMarket'] as const;
export type ContractName = (typeof CONTRACT_NAMES)[number];

export const COMPILER_SETTINGS = {
  optimizer: { enabled: true, runs: 10_000 },
  evmVersion: 'cancun',
  outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
} as const;

export interface ContractArtifact {
  contractName: ContractName;
  sourceName: string;
  abi: unknown[];
  bytecode: `0x${string}`;
  deployedBytecode: `0x${string}`;
  compiler: { name: 'solc'; version: string; settings: typeof COMPILER_SETTINGS };
  /** sha256 of the JSON settings, so a changed optimizer/evmVersion is visible in review. */
  settingsHash: string;
  /** sha256 over every source file that went into the compile (ours and OpenZeppelin's). */
  sourcesHash: string;
}

export const CONTRACTS_DIR = join(packageRoot, 'contracts');
export const ARTIFACTS_DIR = join(packageRoot, 'artifacts');

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Compiles every .sol under contracts/ and returns the artifacts (nothing is written). */
export function compileContracts(): Record<ContractName, ContractArtifact> {
  const sources: Record<string, { content: string }> = {};
  for (const file of readdirSync(CONTRACTS_DIR).filter((f) => f.endsWith('.sol')).sort()) {
    sources[`contracts/${file}`] = { content: readFileSync(join(CONTRACTS_DIR, file), 'utf8') };
  }
  const imported: Record<string, string> = {};
  const input = { language: 'Solidity', sources, settings: COMPILER_SETTINGS };
  const output = JSON.parse(
    solc.compile(JSON.stringify(input), {
      import: (path) => {
        try {
          const content = readFileSync(require.resolve(path), 'utf8');
          imported[path] = content;
          return { contents: content };
        } catch {
          return { error: `cannot resolve import ${path} from node_modules` };
        }
      },
    }),
  ) as {
    errors?: { severity: string; formattedMessage: string }[];
    contracts: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string }; deployedBytecode: { object: string } } }>>;
  };
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length) throw new Error(`solc failed:\n${errors.map((e) => e.formattedMessage).join('\n')}`);
  const allSources = { ...Object.fromEntries(Object.entries(sources).map(([k, v]) => [k, v.content])), ...imported };
  const sourcesHash = sha256(
    Object.keys(allSources)
      .sort()
      .map((k) => `${k}\n${sha256(allSources[k])}`)
      .join('\n'),
  );
  const version = solc.version();
  const result = {} as Record<ContractName, ContractArtifact>;
  for (const name of CONTRACT_NAMES) {
    const sourceName = `contracts/${name}.sol`;
    const compiled = output.contracts[sourceName]?.[name];
    if (!compiled) throw new Error(`solc produced no output for ${sourceName}:${name}`);
    result[name] = {
      contractName: name,
      sourceName,
      abi: compiled.abi,
      bytecode: `0x${compiled.evm.bytecode.object}`,
      deployedBytecode: `0x${compiled.evm.deployedBytecode.object}`,
      compiler: { name: 'solc', version, settings: COMPILER_SETTINGS },
      settingsHash: sha256(JSON.stringify(COMPILER_SETTINGS)),
      sourcesHash,
    };
  }
  return result;
}

/** The exact bytes written for an artifact (stable key order, trailing newline). */
export function serializeArtifact(artifact: ContractArtifact): string {
  return `${JSON.stringify(artifact, null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const started = performance.now();
  const artifacts = compileContracts();
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  for (const artifact of Object.values(artifacts)) {
    writeFileSync(join(ARTIFACTS_DIR, `${artifact.contractName}.json`), serializeArtifact(artifact));
    const runtimeBytes = (artifact.deployedBytecode.length - 2) / 2;
    console.log(`${artifact.contractName}: ${runtimeBytes} bytes runtime (limit 24576)`);
  }
  console.log(`solc ${solc.version()} → ${ARTIFACTS_DIR} in ${Math.round(performance.now() - started)} ms`);
}
