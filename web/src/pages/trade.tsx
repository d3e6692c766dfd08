// placeholder
export function TradePage() {
  return <p>coming</p>;
}
