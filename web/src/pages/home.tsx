// placeholder
export function HomePage() {
  return <p>coming</p>;
}
