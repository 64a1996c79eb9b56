<?php
// The peer for webhook.fcgi: what a shared-hosting user would write.
// Verify the Rye HMAC over the raw body, json_decode, INSERT the event
// (UNIQUE id: a repeat is a duplicate), upsert the order, one transaction,
// answer after the commit.  bench/run sets BENCH_DB, BENCH_SECRET,
// BENCH_SYNC (FULL or NORMAL) and BENCH_PERSISTENT in the pool's env.
const STATUS = [
    'ORDER_SUBMISSION_STARTED' => 'PROCESSING', 'ORDER_SUBMISSION_SUCCEEDED' => 'PROCESSING',
    'ORDER_PLACED' => 'SUCCEEDED', 'TRACKING_OBTAINED' => 'SUCCEEDED',
    'ORDER_FAILED' => 'FAILED', 'PAYMENT_FAILED' => 'FAILED',
    'ORDER_CANCEL_STARTED' => 'CANCELLATION_IN_PROGRESS', 'ORDER_CANCEL_SUCCEEDED' => 'CANCELLED',
];
const STAGE = ['PENDING' => 'processing', 'PROCESSING' => 'processing', 'SUCCEEDED' => 'placed',
    'FAILED' => 'failed', 'CANCELLATION_IN_PROGRESS' => 'placed', 'CANCELLED' => 'cancelled'];

function answer(int $status, array $o): void {
    http_response_code($status);
    header('Content-Type: application/json');
    echo json_encode($o, JSON_UNESCAPED_SLASHES);
    exit;
}

$body = file_get_contents('php://input');
$sig = $_SERVER['HTTP_RYE_HMAC_SIGNATURE_V1'] ?? '';
if (!hash_equals(base64_encode(hash_hmac('sha256', $body, getenv('BENCH_SECRET'), true)), $sig))
    answer(401, ['ok' => false, 'error' => 'bad_signature']);
$ev = json_decode($body, true);
if (!is_array($ev))
    answer(400, ['ok' => false, 'error' => 'invalid_json']);
if (!isset($ev['id'], $ev['type'], $ev['createdAt']))
    answer(400, ['ok' => false, 'error' => 'missing_field']);
$order = $ev['requestId'] ?? null;
$created = DateTime::createFromFormat('Y-m-d\TH:i:s.v\Z', $ev['createdAt'], new DateTimeZone('UTC'))
    ?: new DateTime($ev['createdAt']);
$created_ms = (int)$created->format('Uv');
$now = gmdate('Y-m-d\TH:i:s\Z');
$now_ms = (int)(microtime(true) * 1000);

try {
    $db = new PDO('sqlite:' . getenv('BENCH_DB'), null, null, [
        PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION,
        PDO::ATTR_PERSISTENT => getenv('BENCH_PERSISTENT') === '1',
        PDO::ATTR_TIMEOUT => 5,
    ]);
    $db->exec('PRAGMA synchronous = ' . getenv('BENCH_SYNC'));
    $db->beginTransaction();
    $ins = $db->prepare('INSERT INTO events(id, scheme, type, order_id, created_at, created_ms,'
        . ' marketplace, received_at, body) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO NOTHING');
    $ins->execute([$ev['id'], 'rye1', $ev['type'], $order, $ev['createdAt'], $created_ms,
        $ev['data']['marketplace'] ?? null, $now, $body]);
    $duplicate = $ins->rowCount() === 0;
    if (!$duplicate && $order !== null) {
        $status = STATUS[$ev['type']] ?? null;
        $up = $db->prepare('INSERT INTO orders(id, status, stage, marketplace, created_at,'
            . ' created_ms, updated_at, updated_ms) VALUES (?,?,?,?,?,?,?,?)'
            . ' ON CONFLICT(id) DO UPDATE SET status = coalesce(?, status),'
            . ' stage = coalesce(?, stage), marketplace = coalesce(excluded.marketplace, marketplace),'
            . ' created_at = min(created_at, excluded.created_at),'
            . ' created_ms = min(created_ms, excluded.created_ms),'
            . ' updated_at = excluded.updated_at, updated_ms = excluded.updated_ms');
        $up->execute([$order, $status ?? 'PENDING', STAGE[$status ?? 'PENDING'],
            $ev['data']['marketplace'] ?? null, $ev['createdAt'], $created_ms, $now, $now_ms,
            $status, $status === null ? null : STAGE[$status]]);
    }
    $db->commit();
} catch (PDOException $e) {
    if (isset($db) && $db->inTransaction())
        $db->rollBack();
    header('Retry-After: 5');
    answer(503, ['ok' => false, 'error' => 'unavailable']);
}
answer(200, ['ok' => true, 'event' => $ev['id'], 'duplicate' => $duplicate]);
