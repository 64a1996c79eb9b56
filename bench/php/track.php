<?php
// The peer for api.fcgi's shopper view: check the lookup key, SELECT the
// order, its shipments and their checkpoints, json_encode.
// GET track.php?id=ORDER&key=K; bench/run sets BENCH_DB,
// BENCH_LOOKUP_SECRET and BENCH_PERSISTENT in the pool's env.
function answer(int $status, $o): void {
    http_response_code($status);
    header('Content-Type: application/json');
    header('Cache-Control: private, max-age=30');
    echo json_encode($o, JSON_UNESCAPED_SLASHES);
    exit;
}

$id = $_GET['id'] ?? '';
$key = $_GET['key'] ?? '';
$mac = hash_hmac('sha256', $id, getenv('BENCH_LOOKUP_SECRET'), true);
$expected = rtrim(strtr(base64_encode(substr($mac, 0, 16)), '+/', '-_'), '=');
$notfound = ['ok' => false, 'error' => 'not_found', 'message' => 'no order matches that order number and key'];
if (!hash_equals($expected, $key))
    answer(404, $notfound);
try {
    $db = new PDO('sqlite:' . getenv('BENCH_DB'), null, null, [
        PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION,
        PDO::ATTR_PERSISTENT => getenv('BENCH_PERSISTENT') === '1',
        PDO::ATTR_DEFAULT_FETCH_MODE => PDO::FETCH_ASSOC,
    ]);
    $q = $db->prepare('SELECT id, status, stage, marketplace, created_at, updated_at'
        . ' FROM orders WHERE id = ?');
    $q->execute([$id]);
    $o = $q->fetch();
    if ($o === false)
        answer(404, $notfound);
    $view = ['id' => $o['id'], 'status' => $o['status'], 'stage' => $o['stage'],
        'marketplace' => $o['marketplace'], 'createdAt' => $o['created_at'],
        'updatedAt' => $o['updated_at'], 'shipments' => []];
    $q = $db->prepare('SELECT id, tracking_number, carrier, tracking_url, tag, subtag,'
        . ' subtag_message, expected_delivery, delivered_at, last_checkpoint_at, checked_at'
        . ' FROM shipments WHERE order_id = ?'
        . ' ORDER BY first_key, tracking_number IS NULL, tracking_number, pending_key');
    $q->execute([$id]);
    $cq = $db->prepare('SELECT time_raw, tag, subtag, message, location FROM checkpoints'
        . ' WHERE shipment_id = ? ORDER BY time_ms DESC, time_raw DESC, message, tag');
    foreach ($q->fetchAll() as $s) {
        $cq->execute([$s['id']]);
        $cps = [];
        foreach ($cq->fetchAll() as $c)
            $cps[] = ['time' => $c['time_raw'], 'tag' => $c['tag'], 'subtag' => $c['subtag'],
                'message' => $c['message'], 'location' => $c['location']];
        $last = $s['last_checkpoint_at'] !== null ? strtotime($s['last_checkpoint_at']) : null;
        $view['shipments'][] = ['trackingNumber' => $s['tracking_number'],
            'carrier' => $s['carrier'], 'trackingUrl' => $s['tracking_url'], 'tag' => $s['tag'],
            'subtag' => $s['subtag'], 'subtagMessage' => $s['subtag_message'],
            'expectedDelivery' => $s['expected_delivery'], 'deliveredAt' => $s['delivered_at'],
            'lastCheckpointAt' => $s['last_checkpoint_at'], 'checkedAt' => $s['checked_at'],
            'stale' => $s['tag'] !== 'Delivered' && $last !== null && $last < time() - 7 * 86400,
            'checkpoints' => $cps];
    }
} catch (PDOException $e) {
    header('Retry-After: 5');
    answer(503, ['ok' => false, 'error' => 'unavailable']);
}
answer(200, $view);
