#!/usr/bin/env python3
"""Drives the residents' mobile page in a real browser (Debian's chromium through its
chromedriver, headless, 375 px wide), one step per call, and saves a screenshot of each
step. Called by Tests/SyncEndToEndTests/ResidentPageTests.swift; prints one JSON line.

  residents_page.py submit URL OUT --community CODE --phone PHONE
  residents_page.py follow URL OUT --number N --tail T --answer TEXT --score S
  residents_page.py checks URL OUT
"""
import argparse
import json
import os
import sys

import chromium
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait


def browser():
    return chromium.start(375, 812)


def shot(driver, out, name):
    return chromium.shot(driver, out, name, 375, 812, 4000)


def page_facts(driver, base):
    """What a person on a 375 px phone would notice, measured in the page."""
    return driver.execute_script(
        """
        const base = arguments[0];
        const resources = performance.getEntriesByType('resource').map(e => e.name);
        const unlabeled = [...document.querySelectorAll('input:not([type=hidden]):not([type=radio]), select, textarea')]
            .filter(e => !(e.id && document.querySelector('label[for="' + e.id + '"]'))).map(e => e.name);
        return {
            scrollWidth: document.documentElement.scrollWidth,
            clientWidth: document.documentElement.clientWidth,
            scripts: document.scripts.length,
            foreign: resources.filter(r => !r.startsWith(base)),
            unlabeled: unlabeled,
            lang: document.documentElement.lang,
        };
        """, base)


def fail(message, **extra):
    print(json.dumps(dict(ok=False, error=message, **extra), ensure_ascii=False))
    sys.exit(1)


def submit(args):
    driver = browser()
    try:
        driver.get(args.url + "/")
        facts = page_facts(driver, args.url)
        shots = [shot(driver, args.out, "1-home")]
        # A wrong phone first: the page answers with the form and a clear error.
        Select(driver.find_element(By.ID, "kind")).select_by_value("complaint")
        Select(driver.find_element(By.ID, "category")).select_by_visible_text("环境卫生")
        Select(driver.find_element(By.ID, "community")).select_by_value(args.community)
        driver.find_element(By.ID, "description").send_keys("小区东门垃圾桶满了三天没人清运，气味很大。")
        driver.find_element(By.ID, "address").send_keys("幸福路 12 号东门")
        driver.find_element(By.ID, "name").send_keys("王芳")
        driver.find_element(By.ID, "phone").send_keys("12345")
        driver.find_element(By.ID, "submit").click()
        error = driver.find_element(By.ID, "error").text
        shots.append(shot(driver, args.out, "2-phone-error"))
        kept = driver.find_element(By.ID, "description").get_attribute("value")
        phone = driver.find_element(By.ID, "phone")
        phone.clear()
        phone.send_keys(args.phone)
        driver.find_element(By.ID, "submit").click()
        number = driver.find_element(By.ID, "case-number").text
        shots.append(shot(driver, args.out, "3-submitted"))
        print(json.dumps(dict(ok=True, number=number, error_shown=error, kept_description=kept, facts=facts,
                              shots=shots), ensure_ascii=False))
    finally:
        driver.quit()


def follow(args):
    driver = browser()
    try:
        driver.get(args.url + "/")
        driver.find_element(By.ID, "number").send_keys(args.number)
        driver.find_element(By.ID, "tail").send_keys(args.tail)
        driver.find_element(By.ID, "follow").click()
        facts = page_facts(driver, args.url)
        answer = driver.find_element(By.ID, "answer").text
        status = driver.find_element(By.ID, "status").text
        timeline = driver.find_element(By.ID, "timeline").text
        shots = [shot(driver, args.out, "4-answered")]
        driver.find_element(By.ID, "score-" + str(args.score)).click()
        driver.find_element(By.ID, "comment").send_keys("处理很及时，谢谢社区！")
        driver.find_element(By.ID, "rate").click()
        notice = driver.find_element(By.ID, "notice").text
        rating = driver.find_element(By.ID, "rating").text
        rate_forms = len(driver.find_elements(By.ID, "rate-form"))
        shots.append(shot(driver, args.out, "5-rated"))
        print(json.dumps(dict(ok=True, answer=answer, status=status, timeline=timeline, notice=notice, rating=rating,
                              rate_forms_after=rate_forms, facts=facts, shots=shots), ensure_ascii=False))
    finally:
        driver.quit()


def checks(args):
    """English, and a wrong phone tail, as a person would meet them."""
    driver = browser()
    try:
        driver.get(args.url + "/")
        driver.find_element(By.ID, "language").click()
        WebDriverWait(driver, 15).until(lambda d: d.execute_script("return document.documentElement.lang") == "en")
        english = dict(heading=driver.find_element(By.TAG_NAME, "h1").text, lang=page_facts(driver, args.url)["lang"])
        shots = [shot(driver, args.out, "6-english")]
        driver.find_element(By.ID, "number").send_keys(args.number)
        driver.find_element(By.ID, "tail").send_keys("0000")
        driver.find_element(By.ID, "follow").click()
        wrong = driver.find_element(By.ID, "error").text
        shots.append(shot(driver, args.out, "7-wrong-tail"))
        print(json.dumps(dict(ok=True, english=english, wrong_tail=wrong, shots=shots), ensure_ascii=False))
    finally:
        driver.quit()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("step", choices=["submit", "follow", "checks"])
    parser.add_argument("url")
    parser.add_argument("out")
    parser.add_argument("--community")
    parser.add_argument("--phone")
    parser.add_argument("--number")
    parser.add_argument("--tail")
    parser.add_argument("--answer")
    parser.add_argument("--score", type=int, default=5)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    try:
        {"submit": submit, "follow": follow, "checks": checks}[args.step](args)
    except Exception as error:  # the test prints this line
        fail(type(error).__name__ + ": " + str(error).splitlines()[0] if str(error) else type(error).__name__)


if __name__ == "__main__":
    main()
