// placeholder
export function OperatorPage() {
  return <p>coming</p>;
}
