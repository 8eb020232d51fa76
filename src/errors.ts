/**
 * Errors as values with codes: raised anywhere, mapped once at the edge (an HTTP status
 * here; tool errors have their own `ToolFailure`, frame errors their own codes).
 */
export type BrokerErrorCode = 'UNAUTHORIZED' | 'NOT_FOUND' | 'INVALID_CATALOG' | 'INVALID_REQUEST' | 'UNAVAILABLE' | 'INTERNAL';

const httpStatus: Record<BrokerErrorCode, number> = {
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  INVALID_CATALOG: 400,
  INVALID_REQUEST: 400,
  UNAVAILABLE: 503,
  INTERNAL: 500,
};

export class BrokerError extends Error {
  constructor(
    readonly code: BrokerErrorCode,
    message: string,
    readonly options: { retryable?: boolean; issues?: string[]; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
  }

  get status(): number {
    return httpStatus[this.code];
  }

  get retryable(): boolean {
    return this.options.retryable ?? this.code === 'UNAVAILABLE';
  }

  toBody() {
    return { error: { code: this.code, message: this.message, ...(this.options.issues ? { issues: this.options.issues } : {}) } };
  }
}
