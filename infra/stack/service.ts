/**
 * The contract every local-stack service implements (one file per service in services/).
 */
import type { SwitchyardConfig } from '../../config/config.js';
import type { LaunchSpec } from './processes.js';

/** A port a service listens on. */
export interface ServicePort {
  /** What the port is for ("cql", "broker", "ui", ...). */
  label: string;
  host: string;
  port: number;
}

/** What a service needs from the stack while provisioning and starting. */
export interface StackContext {
  cfg: SwitchyardConfig;
  /** Prints a progress line. */
  progress(message: string): void;
}

/** One server of the local stack. */
export interface StackService {
  /** Short name used on the command line and in messages ("kafka"). */
  readonly name: string;
  /** Ports it listens on; the first is its client endpoint. */
  ports(cfg: SwitchyardConfig): ServicePort[];
  /** False when the configured endpoint is not on this machine: the stack then only checks it. */
  isLocal(cfg: SwitchyardConfig): boolean;
  /** Where the client endpoint is, for messages ("127.0.0.1:9092"). */
  endpoint(cfg: SwitchyardConfig): string;
  /** Installs what the service needs into the tools folder (no-op when already there). */
  provision(ctx: StackContext): Promise<void>;
  /** Prepares data folders and config files, and says how to start the server. */
  prepare(ctx: StackContext): Promise<LaunchSpec>;
  /** Resolves when the service answers its own protocol through the project's client; throws otherwise. */
  probe(cfg: SwitchyardConfig): Promise<string>;
  /** Runs once the service is ready (e.g. registers search attributes); must be idempotent. */
  afterReady?(ctx: StackContext): Promise<void>;
  /** How long startup may take before it counts as failed. */
  readonly startTimeoutMs: number;
  /** How long a graceful stop may take before SIGKILL. */
  readonly stopGraceMs: number;
  /** Text in the server's command line that identifies it as ours. */
  marker(cfg: SwitchyardConfig): string;
}
