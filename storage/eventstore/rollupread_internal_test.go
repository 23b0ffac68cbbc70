package eventstore

import "testing"

// A reader that began before a restore emptied the bucket cache cannot put
// what it read from the old state back into it; one that began after can.
func TestBucketCacheGenerations(t *testing.T) {
	var c bucketCache
	id := bucketID{tenant: "acme", code: 6, level: 'D', from: 86400, to: 2 * 86400}
	stamps := []uint64{86400, 5}
	old := c.generation()
	c.clear()
	c.put(old, id, &bucketCounts{stamps: stamps, values: []string{"10.0.0.1"}, counts: []int{5}})
	if c.get(id, stamps) != nil {
		t.Fatal("a count read before the clear was kept")
	}
	c.put(c.generation(), id, &bucketCounts{stamps: stamps, values: []string{"10.0.0.2"}, counts: []int{5}})
	if b := c.get(id, stamps); b == nil || b.values[0] != "10.0.0.2" {
		t.Fatalf("get after put = %+v", b)
	}
	if c.get(id, []uint64{86400, 6}) != nil {
		t.Fatal("a bucket whose stamp moved was reused")
	}
}
