import Link from 'next/link';

export default function NotFound() {
  return (
    <section className="card">
      <h1>Not found</h1>
      <p>
        No such page or environment. <Link href="/">Back to the overview</Link>
      </p>
    </section>
  );
}
