import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { kafkaSasl } from '../../../config/clients.js';
import { ConfigError, isLoopbackHost, loadConfig, parseHostPort } from '../../../config/config.js';
import {
  localKafkaCredentialsFile,
  makeLocalKafkaCredentials,
  readLocalKafkaCredentials,
  writeLocalKafkaCredentials,
} from '../../../config/kafka-credentials.js';

describe('loadConfig', () => {
  it('uses local-stack defaults when nothing is set', () => {
    const cfg = loadConfig({});
    assert.deepEqual(cfg.temporal.address, { host: '127.0.0.1', port: 7233 });
    assert.equal(cfg.temporal.namespace, 'default');
    assert.equal(cfg.temporal.tls, false);
    assert.deepEqual(cfg.kafka.brokers, [{ host: '127.0.0.1', port: 9092 }]);
    assert.deepEqual(cfg.cassandra.contactPoints, [{ host: '127.0.0.1', port: 9042 }]);
    assert.equal(cfg.cassandra.localDataCenter, 'datacenter1');
    assert.equal(cfg.dynamodb.endpoint?.toString(), 'http://127.0.0.1:8000/');
    assert.equal(cfg.dynamodb.region, 'us-east-1');
    assert.deepEqual(cfg.environments, ['test', 'staging', 'production']);
  });

  it("puts the local Temporal's HTTP API and metrics beside its frontend port, unless told otherwise", () => {
    assert.deepEqual([loadConfig({}).temporal.httpPort, loadConfig({}).temporal.metricsPort], [7243, 7244]);
    const other = loadConfig({ TEMPORAL_ADDRESS: '127.0.0.1:40000' }).temporal;
    assert.deepEqual([other.httpPort, other.metricsPort], [40010, 40011], 'a second local server does not collide with the first');
    const set = loadConfig({ TEMPORAL_HTTP_PORT: '17243', TEMPORAL_METRICS_PORT: '17244' }).temporal;
    assert.deepEqual([set.httpPort, set.metricsPort], [17243, 17244]);
    assert.throws(() => loadConfig({ TEMPORAL_HTTP_PORT: 'http' }), /TEMPORAL_HTTP_PORT: 'http' is not a port/);
  });

  it('lets environment variables override every endpoint', () => {
    const cfg = loadConfig({
      TEMPORAL_ADDRESS: 'my-ns.a1b2c.tmprl.cloud:7233',
      TEMPORAL_NAMESPACE: 'my-ns.a1b2c',
      TEMPORAL_API_KEY: 'secret',
      KAFKA_BROKERS: 'b1.example.com:9094, b2.example.com',
      KAFKA_SSL: 'true',
      KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      KAFKA_SASL_USERNAME: 'u',
      KAFKA_SASL_PASSWORD: 'p',
      CASSANDRA_CONTACT_POINTS: '10.0.0.1,10.0.0.2',
      CASSANDRA_LOCAL_DC: 'us-east',
      DYNAMODB_ENDPOINT: 'aws',
      AWS_REGION: 'eu-west-1',
      SWITCHYARD_ENVS: 'dev,prod',
    });
    assert.equal(cfg.temporal.tls, true, 'an API key implies TLS');
    assert.equal(cfg.temporal.apiKey, 'secret');
    assert.deepEqual(cfg.kafka.brokers, [
      { host: 'b1.example.com', port: 9094 },
      { host: 'b2.example.com', port: 9092 },
    ]);
    assert.equal(cfg.kafka.sasl?.mechanism, 'scram-sha-512');
    assert.deepEqual(
      cfg.cassandra.contactPoints.map((c) => c.host),
      ['10.0.0.1', '10.0.0.2'],
    );
    assert.equal(cfg.dynamodb.endpoint, undefined, "'aws' means the SDK's regional endpoint");
    assert.equal(cfg.dynamodb.region, 'eu-west-1');
    assert.deepEqual(cfg.environments, ['dev', 'prod']);
  });

  it('reports every bad value at once, naming the variable', () => {
    assert.throws(
      () =>
        loadConfig({
          TEMPORAL_ADDRESS: 'localhost:99999',
          KAFKA_BROKERS: 'broker:abc',
          DYNAMODB_ENDPOINT: 'not a url',
          AWS_REGION: 'moon',
          KAFKA_CONTROLLER_PORT: '0',
          SWITCHYARD_KAFKA_PRINCIPAL: 'root',
          KAFKA_SASL_MECHANISM: 'plain',
          SWITCHYARD_ENVS: 'Prod,prod,prod',
          LOG_LEVEL: 'loud',
        }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        const text = err.problems.join('\n');
        for (const v of [
          'TEMPORAL_ADDRESS',
          'KAFKA_BROKERS',
          'DYNAMODB_ENDPOINT',
          'AWS_REGION',
          'KAFKA_CONTROLLER_PORT',
          'SWITCHYARD_KAFKA_PRINCIPAL',
          'KAFKA_SASL_USERNAME',
          'SWITCHYARD_ENVS',
          'LOG_LEVEL',
        ]) {
          assert.match(text, new RegExp(v), `expected a problem naming ${v}`);
        }
        assert.equal(err.retriable, false);
        return true;
      },
    );
  });
});

describe('Kafka credentials', () => {
  const stackDir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-creds-'));
  const file = localKafkaCredentialsFile(stackDir);

  it('has none on the local stack before the stack made them', () => {
    const cfg = loadConfig({ SWITCHYARD_STACK_DIR: stackDir });
    assert.equal(cfg.kafka.localCredentialsFile, file);
    assert.equal(kafkaSasl(cfg), undefined);
  });

  it("authenticates a process as its own principal with the stack's password, owner-readable only", () => {
    const creds = makeLocalKafkaCredentials();
    writeLocalKafkaCredentials(file, creds);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.notEqual(creds.users.worker, creds.users.query, 'one password per principal');
    assert.deepEqual(kafkaSasl(loadConfig({ SWITCHYARD_STACK_DIR: stackDir }, { kafkaPrincipal: 'query' })), {
      mechanism: 'scram-sha-256',
      username: 'query',
      password: creds.users.query,
    });
    assert.equal(kafkaSasl(loadConfig({ SWITCHYARD_STACK_DIR: stackDir }))?.username, 'admin', 'admin by default (the stack, setup, tests)');
    assert.equal(
      kafkaSasl(loadConfig({ SWITCHYARD_STACK_DIR: stackDir, SWITCHYARD_KAFKA_PRINCIPAL: 'tools' }, { kafkaPrincipal: 'query' }))?.username,
      'tools',
    );
    assert.equal(kafkaSasl(loadConfig({ SWITCHYARD_STACK_DIR: stackDir }), 'worker')?.password, creds.users.worker);
  });

  it('uses KAFKA_SASL_* instead, and nothing from the stack for a remote cluster', () => {
    const own = loadConfig({ SWITCHYARD_STACK_DIR: stackDir, KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' });
    assert.deepEqual(kafkaSasl(own, 'worker'), { mechanism: 'scram-sha-512', username: 'u', password: 'p' });
    const remote = loadConfig({ SWITCHYARD_STACK_DIR: stackDir, KAFKA_BROKERS: 'kafka-1.internal:9092' });
    assert.equal(remote.kafka.localCredentialsFile, undefined);
    assert.equal(kafkaSasl(remote), undefined);
  });

  it('names what is wrong with a damaged credentials file', () => {
    fs.writeFileSync(file, JSON.stringify({ mechanism: 'scram-sha-256', users: { admin: 'x' } }));
    assert.throws(() => readLocalKafkaCredentials(file), /lacks the principal\(s\) worker, aggregator/);
    fs.writeFileSync(file, '{');
    assert.throws(() => readLocalKafkaCredentials(file), /is not JSON/);
  });
});

describe('parseHostPort', () => {
  it('parses names, IPv4 and bracketed IPv6, with or without a default port', () => {
    assert.deepEqual(parseHostPort('kafka-1:9092'), { host: 'kafka-1', port: 9092 });
    assert.deepEqual(parseHostPort('[::1]:7233'), { host: '::1', port: 7233 });
    assert.deepEqual(parseHostPort('10.1.2.3', 9042), { host: '10.1.2.3', port: 9042 });
    assert.equal(typeof parseHostPort('10.1.2.3'), 'string');
    assert.equal(typeof parseHostPort('host:0'), 'string');
    assert.equal(typeof parseHostPort(''), 'string');
  });
});

describe('isLoopbackHost', () => {
  it('treats only this machine as local', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1']) assert.equal(isLoopbackHost(h), true, h);
    for (const h of ['10.0.0.1', 'kafka.internal', '192.168.1.5', 'my-ns.tmprl.cloud']) assert.equal(isLoopbackHost(h), false, h);
  });
});
