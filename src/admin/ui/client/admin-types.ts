// The admin API's JSON as the UI reads it (Restate's shapes, snake_case).

export interface HandlerJson {
  readonly name: string;
  readonly ty?: string;
  readonly input_description?: string;
  readonly output_description?: string;
  readonly public?: boolean;
  readonly documentation?: string;
  readonly inactivity_timeout?: string;
  readonly abort_timeout?: string;
}

export interface ServiceJson {
  readonly name: string;
  readonly ty: string;
  readonly handlers: readonly HandlerJson[];
  readonly deployment_id: string;
  readonly revision: number;
  readonly public: boolean;
  readonly idempotency_retention?: string;
  readonly workflow_completion_retention?: string;
  readonly inactivity_timeout?: string;
  readonly abort_timeout?: string;
  readonly documentation?: string;
}

export interface DeploymentJson {
  readonly id: string;
  readonly uri?: string;
  readonly protocol_type?: string;
  readonly http_version?: string;
  readonly created_at?: string;
  readonly min_protocol_version?: number;
  readonly max_protocol_version?: number;
  readonly sdk_version?: string;
  readonly additional_headers?: Record<string, string>;
  readonly services: readonly ServiceJson[];
}
