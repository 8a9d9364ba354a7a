import { parquetWriteBuffer, type BasicType } from 'hyparquet-writer';

/** PostgreSQL column types to Parquet's; anything unknown is written as a string. */
function parquetType(dataType: string): BasicType {
  if (dataType === 'bigint' || dataType === 'integer' || dataType === 'smallint') return 'INT64';
  if (dataType === 'boolean') return 'BOOLEAN';
  if (dataType === 'double precision' || dataType === 'numeric' || dataType === 'real') return 'DOUBLE';
  if (dataType.startsWith('timestamp')) return 'TIMESTAMP';
  return 'STRING';
}

function convert(value: unknown, type: BasicType): unknown {
  if (value === null || value === undefined) return null;
  if (type === 'INT64') return BigInt(value as number);
  if (type === 'DOUBLE') return Number(value);
  if (type === 'BOOLEAN') return Boolean(value);
  if (type === 'TIMESTAMP') return value instanceof Date ? value : new Date(String(value));
  if (value instanceof Date) return value.toISOString().slice(0, 10);
  return String(value);
}

/** One analytics table as an Apache Parquet file (Snappy-compressed, one row group per 100,000 rows). */
export async function writeParquet(
  columns: Array<{ column_name: string; data_type: string }>,
  rows: Array<Record<string, unknown>>,
): Promise<Buffer> {
  const columnData = columns.map((c) => {
    const type = parquetType(c.data_type);
    return {
      name: c.column_name,
      type,
      nullable: true,
      data: rows.map((r) => convert(r[c.column_name], type)) as never,
    };
  });
  return Buffer.from(parquetWriteBuffer({ columnData, rowGroupSize: 100_000, createdBy: 'Kiln insights' }));
}
